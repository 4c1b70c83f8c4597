"""Atom feeds at /u/<nickname>/feed.atom and /tags/<tag>/feed.atom, answered 304 when unchanged."""

from __future__ import annotations

import re
from datetime import datetime

from flask import abort, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import User
from . import feeds
from .paging import EPOCH
from .tag_views import canonical_tag
from .views import bp

ATOM = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 cannot carry, even escaped, which a post may hold (U+FFFF, say).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@bp.get("/u/<nickname:nickname>/feed.atom")
def user_feed(nickname: str) -> Response:
    """Send a person's newest posts as Atom, or 304 if the reader has this version."""
    found = feeds.user_version(nickname)
    if found is None:
        abort(404)
    user_id, version = found
    if unchanged := not_modified(version):
        return unchanged
    user = db.get_or_404(User, user_id)  # gone since the first query: a 404 too
    title = f"{user.display_name or user.nickname} (@{user.nickname})"
    page = url_for("views.profile", nickname=nickname, _external=True)
    return atom(version, title, page, updated_default=user.created_at)


@bp.get("/tags/<tag>/feed.atom")
def tag_feed(tag: str) -> Response:
    """Send the newest posts carrying a tag as Atom, or 304 if the reader has this version."""
    name = canonical_tag(tag)
    if name != tag:
        return redirect(url_for("views.tag_feed", tag=name), 301)
    version = feeds.tag_version(name)
    if unchanged := not_modified(version):
        return unchanged
    page = url_for("views.tag", tag=name, _external=True)
    return atom(version, f"Posts tagged #{name}", page)


def not_modified(version: feeds.Version) -> Response | None:
    """Return a 304 if the request's validators match this version, else None."""
    if request.if_none_match:
        hit = request.if_none_match.contains(version.etag)
    else:
        since = request.if_modified_since
        updated = version.updated and version.updated.replace(microsecond=0)  # as sent
        hit = since is not None and updated is not None and updated <= since
    return with_validators(make_response("", 304), version) if hit else None


def atom(
    version: feeds.Version, title: str, page: str, updated_default: datetime | None = None
) -> Response:
    """Render a feed of a Version's posts, linking to the page it follows."""
    posts = feeds.load_posts(version.post_ids)
    updated = version.updated or updated_default or EPOCH  # Atom requires one
    xml = render_template("feeds/feed.xml", title=title, page=page, posts=posts, updated=updated)
    response = make_response(NOT_XML.sub("", xml))
    response.content_type = ATOM
    return with_validators(response, version)


def with_validators(response: Response, version: feeds.Version) -> Response:
    response.set_etag(version.etag)
    if version.updated is not None:
        response.last_modified = version.updated.replace(microsecond=0)
    response.cache_control.public = True
    response.cache_control.max_age = 60
    return response
