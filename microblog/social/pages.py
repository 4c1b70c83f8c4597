"""What the microblog's views read from the request: the viewer and the page window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_login
from flask import abort, current_app, request
from flask_login import current_user

from .paging import BROKEN_CURSOR, BrokenCursor, Window

View = TypeVar("View", bound=Callable[..., Any])


def login_required(view: View) -> View:
    """Send visitors to sign in first (Flask-Login's decorator, which ships without types)."""
    return cast(View, flask_login.login_required(view))


def viewer_id() -> int | None:
    """Return the signed-in person's id, or None for a visitor."""
    return current_user.id if current_user.is_authenticated else None


def read_window(oldest_first: bool = False) -> Window:
    """Return the window the query string asks for; a broken cursor is a 400 page."""
    try:
        return Window.from_cursors(
            request.args.get("before"),
            request.args.get("after"),
            current_app.config["POSTS_PER_PAGE"],
            oldest_first,
        )
    except BrokenCursor:
        abort(400, BROKEN_CURSOR)
