"""The API's notifications: a page of them with the unread count, and marking them seen."""

from __future__ import annotations

from typing import Any

from flask import request

from ..extensions import db
from ..social import notify
from ..social.pages import read_window
from . import serialize
from .problems import Problem
from .views import POST_ID_MAX, Json, bp, token_user


@bp.get("/notifications")
def notifications() -> Json:
    """List mentions, replies, likes and new followers, newest first, and how many are unread.

    Reading marks nothing seen (a GET changes nothing, and an app may poll in the background):
    the app says what its reader has seen with POST /notifications/seen.
    """
    user = token_user()
    page = notify.load_notifications(user.id, read_window())
    return {**serialize.page(page, serialize.notification), "unread": notify.unread_count(user.id)}


@bp.post("/notifications/seen")
def notifications_seen() -> Json:
    """Mark the owner's notifications seen, as the page does: all, or those up to `up_to`."""
    user = token_user(write=True)
    notify.mark_seen(user.id, up_to=read_up_to())
    db.session.commit()
    return {"unread": notify.unread_count(user.id)}


def read_up_to() -> int | None:
    """Return the optional `up_to` of the request's JSON body: the newest notification shown.

    An app that marks only what it showed never clears one that came in meanwhile.
    """
    if not request.get_data():
        return None
    if not request.is_json:
        raise Problem(415, "json-required", 'Send a JSON object, like {"up_to": 42}, or nothing.')
    data: Any = request.get_json(silent=True)
    up_to = data.get("up_to") if isinstance(data, dict) else ...
    if up_to is None:
        return None
    if isinstance(up_to, bool) or not isinstance(up_to, int) or not 0 < up_to <= POST_ID_MAX:
        message = "Send `up_to` as the id of the newest notification shown, or leave it out."
        raise Problem(422, "invalid-up-to", message, errors={"up_to": message})
    return up_to
