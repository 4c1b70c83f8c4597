"""Sessions: which user a cookie names, and signing out everywhere."""

from __future__ import annotations

import hmac

from flask import Flask, session
from flask_login import logout_user

from ..extensions import db, login_manager
from ..models import User, new_session_token


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)


def load_user(user_id: str) -> User | None:
    """Load the user a session or remember cookie names, if its session token is current."""
    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Make every session and remember cookie of user worthless, then forget this browser's."""
    user.session_token = new_session_token()
    db.session.commit()
    end_this_session()


def end_this_session() -> None:
    """Forget the signed-in person in this browser (session and remember cookie)."""
    session.clear()
    logout_user()  # after clear(): it leaves the note that deletes the remember cookie
