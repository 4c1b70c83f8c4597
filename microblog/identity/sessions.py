"""Sessions are records: which browser a cookie names, for how long, and ending them.

Flask-Login keeps "<record id>:<secret>" in the session and remember cookies (User.get_id);
the record holds the secret's hash. Deleting the record ends every copy of that browser's
cookies at once, on every worker and server, since each request looks the record up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from .. import reads
from ..extensions import db, login_manager
from ..models import User, utcnow
from .models import UserSession

DEFAULTS = {
    # A session not used for this long ends (a browser left signed in at a library).
    "SESSION_IDLE_TIMEOUT": timedelta(days=1),
    "REMEMBERED_IDLE_TIMEOUT": timedelta(days=14),
    # However active, a session ends this long after the sign-in; "Remember me" lasts as long
    # as its cookie (REMEMBER_COOKIE_DURATION).
    "SESSION_LIFETIME": timedelta(days=7),
    # last_active_at is written at most this often, not on every request.
    "SESSION_ACTIVITY_INTERVAL": timedelta(minutes=5),
}
# A value loaded with the session record, from a user id (on_page_load).
UserColumn = Callable[[sa.ColumnElement[int]], sa.ColumnElement[Any]]
LARGEST_ID = 2**31 - 1  # an INTEGER column: a longer number in a cookie must not reach the DB
# (pattern, name) in order: Edge and Opera say "Chrome" too, every browser says "Safari".
BROWSERS = [
    (r"Edg/", "Edge"), (r"OPR/", "Opera"), (r"Firefox/", "Firefox"),
    (r"Chrom(e|ium)/", "Chrome"), (r"Safari/", "Safari"),
]  # fmt: skip
SYSTEMS = [
    (r"iPhone|iPad", "iOS"), (r"Android", "Android"), (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"), (r"CrOS", "ChromeOS"), (r"Linux", "Linux"),
]  # fmt: skip


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)


def begin(
    user: User,
    provider: str,
    subject: str,
    remember: bool = False,
    sid: str | None = None,
    id_token: str | None = None,
) -> UserSession:
    """Record this browser's new session, then sign it in with cookies naming the record."""
    device = device_name(request.headers.get("User-Agent", ""))
    record = create_record(user, provider, subject, remember, sid, id_token, device)
    g.user_session = record
    login_user(user, remember=remember, duration=record.expires_at - record.created_at)
    return record


def create_record(
    user: User,
    provider: str,
    subject: str,
    remember: bool = False,
    sid: str | None = None,
    id_token: str | None = None,
    device: str = "",
) -> UserSession:
    """Store a new session record for user, committed; user.get_id() then names it."""
    secret, now = secrets.token_urlsafe(32), utcnow()
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION" if remember else "SESSION_LIFETIME"]
    record = UserSession(
        user_id=user.id,
        secret_hash=_hash(secret),
        provider=provider,
        subject=subject,
        sid=sid,
        id_token=id_token,
        device=device[:64],
        remember=remember,
        created_at=now,
        last_active_at=now,
        expires_at=now + lifetime,
    )
    db.session.add(record)
    _delete_expired(user.id, now)
    db.session.commit()
    user.cookie_id = f"{record.id}:{secret}"
    return record


def on_page_load(app: Flask, column: UserColumn, keep: Callable[[Any], None]) -> None:
    """Load `column(user id)` with the session record of every page (GET) and hand it to `keep`:
    what the navigation shows of the signed-in person costs no statement of its own."""
    app.extensions.setdefault("page_load_columns", []).append((column, keep))


def load_user(cookie_id: str) -> User | None:
    """Load the user whose live session record this cookie names; one primary-key lookup."""
    raw_id, _, secret = cookie_id.partition(":")
    if not (raw_id.isascii() and raw_id.isdigit() and secret) or int(raw_id) > LARGEST_ID:
        return None
    extras = current_app.extensions.get("page_load_columns", ()) if request.method == "GET" else ()
    query = record_query(tuple(column for column, _ in extras))
    found = reads.rows(query, {"record_id": int(raw_id)})
    if not found:
        return None
    row = found[0]
    if not hmac.compare_digest(row[SECRET_HASH_AT], _hash(secret)):
        return None
    record = reads.from_row(UserSession, row)
    now = utcnow()
    if now >= expiry(record):
        db.session.delete(record)
        db.session.commit()
        return None
    user = reads.from_row(User, row, RECORD_WIDTH)
    set_committed_value(record, "user", user)  # as loaded with it: no change to write back
    if now - record.last_active_at >= current_app.config["SESSION_ACTIVITY_INTERVAL"]:
        record.last_active_at = now
        db.session.commit()
    for (_, keep), value in zip(extras, row[RECORD_WIDTH + USER_WIDTH :], strict=True):
        keep(value)
    user.cookie_id = cookie_id
    g.user_session = record
    return user


RECORD_WIDTH, USER_WIDTH = len(reads.columns(UserSession)), len(reads.columns(User))
SECRET_HASH_AT = reads.columns(UserSession).index(UserSession.__table__.c.secret_hash)


@lru_cache(maxsize=8)
def record_query(columns: tuple[UserColumn, ...] = ()) -> reads.AnySelect:
    """Select the session record :record_id, its user's columns (and columns), built once:
    every page runs it, as plain rows (reads.py), which the ORM instances are made from."""
    record_id = sa.bindparam("record_id", type_=sa.Integer)
    # The record's user id on its own: a column that needs no correlation, however deep.
    mine = aliased(UserSession)
    user_id = sa.select(mine.user_id).where(mine.id == record_id).correlate(None)
    query = sa.select(
        *reads.columns(UserSession),
        *reads.columns(User),
        *(column(user_id.scalar_subquery()) for column in columns),
    )
    query = query.select_from(sa.join(UserSession, User, User.id == UserSession.user_id))
    return query.where(UserSession.id == record_id)


def expiry(record: UserSession) -> datetime:
    """When the record ends: idle too long, or at its absolute expiry, whichever is first."""
    setting = "REMEMBERED_IDLE_TIMEOUT" if record.remember else "SESSION_IDLE_TIMEOUT"
    idle: timedelta = current_app.config[setting]
    return min(record.last_active_at + idle, record.expires_at)


def current_session() -> UserSession | None:
    """The session record of this browser, if it is signed in."""
    if not current_user.is_authenticated:  # loads the record, if the cookies name a live one
        return None
    record: UserSession | None = g.get("user_session")
    return record


def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions that still work, most recently active first."""
    records = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id)
        .order_by(UserSession.last_active_at.desc(), UserSession.id.desc())
    )  # fmt: skip
    now = utcnow()
    return [r for r in records if expiry(r) > now]


def end_this_session() -> None:
    """Sign this browser out: its record goes, so every copy of its cookies stops working."""
    record = current_session()
    if record is not None:
        # By its key, not record.id: the row may be gone already (the account was deleted).
        [record_id] = sa.inspect(record).identity or [None]
        db.session.execute(sa.delete(UserSession).where(UserSession.id == record_id))
        db.session.commit()
    session.clear()
    logout_user()  # after clear(): it leaves the note that deletes the remember cookie


def end_session(user: User, session_id: int) -> bool:
    """End one of user's sessions (this browser's included); False if user has no such one."""
    this = current_session()
    if this is not None and this.id == session_id:
        end_this_session()
        return True
    ended = _delete(
        sa.delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    )
    return bool(ended)


def end_other_sessions(user: User) -> int:
    """End every session of user but this browser's; return how many ended."""
    this = current_session()
    query = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if this is not None:
        query = query.where(UserSession.id != this.id)
    return _delete(query)


def end_sessions_of(user: User) -> None:
    """End every session of user, on every device, from elsewhere (an operator); not committed."""
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))


def end_all_sessions(user: User) -> None:
    """End every session and remember cookie of user, on every device, this one included."""
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.commit()
    session.clear()
    logout_user()


def device_name(user_agent: str) -> str:
    """A short, human name for a browser, like "Firefox on Linux", from its User-Agent."""
    browser = next((name for pattern, name in BROWSERS if re.search(pattern, user_agent)), None)
    system = next((name for pattern, name in SYSTEMS if re.search(pattern, user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent[:40] if user_agent else "Unknown device")


def _delete(statement: sa.Delete) -> int:
    """Run a DELETE, commit, and return how many rows it removed."""
    result = db.session.execute(statement)
    db.session.commit()
    return cast(sa.CursorResult[Any], result).rowcount


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _delete_expired(user_id: int, now: datetime) -> None:
    """Drop the user's sessions that no longer work, so the table does not grow."""
    config, r = current_app.config, UserSession
    db.session.execute(
        sa.delete(r).where(
            r.user_id == user_id,
            (r.expires_at <= now)
            | (r.remember & (r.last_active_at <= now - config["REMEMBERED_IDLE_TIMEOUT"]))
            | (~r.remember & (r.last_active_at <= now - config["SESSION_IDLE_TIMEOUT"])),
        )
    )
