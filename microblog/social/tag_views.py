"""Tag pages: the posts that carry a #tag, newest first."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..extensions import db
from .models import Post, PostTag
from .pages import read_window, viewer_id
from .paging import post_position, windowed
from .queries import binds, posts_query
from .rows import load_posts
from .tags import normalise, tag_part, tagged_query
from .views import bp


def canonical_tag(unsafe_tag: str) -> str:
    """Return the stored spelling of the tag a URL names, or answer 404 if it names none."""
    if tag_part(unsafe_tag) != unsafe_tag:
        abort(404)
    return normalise(unsafe_tag)


@bp.get("/tags/<tag>")
def tag(tag: str) -> str | Response:
    """Show one window of the posts carrying a tag; other spellings redirect to its own."""
    name = canonical_tag(tag)
    if name != tag:
        args: dict[str, Any] = request.args.to_dict()  # the page it asked for, if any
        return redirect(url_for("views.tag", tag=name, **args), 301)
    window, viewer = read_window(), viewer_id()
    dialect = db.engine.dialect.name
    query = windowed(dialect, tag_query(viewer is not None), window.shape, None, *TAG_KEY)
    values = binds(viewer, tag=name, **window.cursor_values())
    page = window.page(load_posts(query, values), post_position)
    feed = url_for("views.tag_feed", tag=name)  # linked twice: built once
    return render_template("tags/tag.html", tag=name, page=page, feed_url=feed)


@cache
def tag_query(signed_in: bool) -> sa.Select[Post]:
    """Select the posts carrying the tag :tag, built once per process."""
    return tagged_query(posts_query(signed_in), sa.bindparam("tag", type_=sa.String))


# A tag's posts walk its own index (tag, created_at, post_id): a copy of the posts' key.
TAG_KEY = (PostTag.created_at, PostTag.post_id)
