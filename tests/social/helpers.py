"""Helpers for the microblog's page tests: posting forms, adding posts, reading pages."""

import re
from datetime import UTC, datetime, timedelta

from microblog.extensions import db
from microblog.social.models import Follow, Post
from tests.helpers import csrf_token

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def send(client, path, **data):
    """Post a form the way the browser does, with the CSRF token from a page."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/explore"), **data})


def add_posts(user, count, start=START, step=timedelta(minutes=1), prefix="post", per_step=1):
    """Add posts "{prefix}-0" (oldest) onwards, per_step of them at each timestamp."""
    posts = [
        Post(user_id=user.id, body=f"{prefix}-{i}", created_at=start + (i // per_step) * step)
        for i in range(count)
    ]
    db.session.add_all(posts)
    db.session.commit()
    return posts


def bodies(response):
    """The post bodies on a page, top to bottom."""
    return re.findall(r'<p class="post-body">(.*?)</p>', response.get_data(as_text=True), re.S)


def link(response, rel):
    """The href of the page's Newer (rel=prev) or Older (rel=next) link, or None."""
    match = re.search(rf'<a rel="{rel}"[^>]* href="([^"]+)"', response.get_data(as_text=True))
    return match and match.group(1).replace("&amp;", "&")


def follows(follower, followed):
    return db.session.get(Follow, (follower.id, followed.id)) is not None
