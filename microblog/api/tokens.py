"""Personal access tokens: making, listing and revoking them, and reading one from a request.

A token works only under /api/ (Flask-Login's request_loader), and cookies never do there:
the API is for scripts and apps, so a page another site opens cannot use a browser's session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request, g
from sqlalchemy.orm.attributes import set_committed_value

from .. import reads
from ..extensions import db, login_manager
from ..models import User, utcnow
from .models import SCOPES, ApiToken

PREFIX = "mbt_"  # recognisable in a leaked file, for people and for secret scanners
API_PATH = "/api/"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
TOKEN_NAME_MAX = 50
TOKENS_PER_USER = 50


def init_app(app: Flask) -> None:
    """Read bearer tokens under /api/, and keep cookies out of the API altogether."""
    login_manager.request_loader(load_user_from_request)
    # Wrapping wsgi_app is how Werkzeug documents middleware; mypy only sees a method replaced.
    app.wsgi_app = WithoutCookies(app.wsgi_app, API_PATH)  # type: ignore[method-assign]


class WithoutCookies:
    """Drop the Cookie header of requests under a path: no session or remember cookie is read.

    An untouched, empty session is never written back, so API responses set no cookie either.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], prefix: str) -> None:
        self.wsgi_app, self.prefix = wsgi_app, prefix

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(self.prefix):
            environ.pop("HTTP_COOKIE", None)
        return self.wsgi_app(environ, start_response)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user_id: int, name: str, scope: str) -> tuple[ApiToken, str]:
    """Make a token for user; return it with its secret, which is shown once. Committed."""
    assert scope in SCOPES
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, name=name, scope=scope, token_hash=hash_token(secret))
    db.session.add(token)
    db.session.commit()
    return token, secret


def token_problems(name: str, scope: str, existing: int) -> dict[str, str]:
    """Say what is wrong with a new token's name and scope, by field name."""
    errors = {}
    if not name:
        errors["name"] = "Give the token a name, to know later what uses it."
    elif len(name) > TOKEN_NAME_MAX:
        errors["name"] = f"Keep it to {TOKEN_NAME_MAX} characters; this has {len(name)}."
    if scope not in SCOPES:
        errors["scope"] = "Choose what the token may do: read, or read and write."
    if existing >= TOKENS_PER_USER:
        errors["name"] = f"You have {existing} tokens, the most allowed. Revoke one first."
    return errors


def load_tokens(user_id: int) -> list[ApiToken]:
    """List someone's tokens, newest first."""
    query = sa.select(ApiToken).where(ApiToken.user_id == user_id)
    return list(db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke(user_id: int, token_id: int) -> bool:
    """Delete one of someone's tokens; say whether there was one. Committed."""
    query = sa.delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    gone = db.session.execute(query.returning(ApiToken.id)).first() is not None
    db.session.commit()
    return gone


def load_user_from_request(request: Request) -> User | None:
    """Return the owner of the request's bearer token under /api/, else None (Flask-Login)."""
    if not request.path.startswith(API_PATH):
        return None  # a token never signs anyone in to the pages
    token = find_token(request.headers.get("Authorization", ""))
    if token is None:
        return None
    g.api_token = token
    if token.last_used_at is None or utcnow() - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        # At most every few minutes: a busy script must not write on every request. On a
        # connection of its own, so that the request's session keeps what it loaded.
        with db.engine.begin() as connection:
            touch = sa.update(ApiToken).where(ApiToken.id == token.id)
            connection.execute(touch.values(last_used_at=utcnow()))
    return token.user


def find_token(header: str) -> ApiToken | None:
    """Return the live token an Authorization header carries, with its owner, or None."""
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    found = reads.rows(token_query(), {"hash": hash_token(secret)})
    if not found:
        return None
    token = reads.from_row(ApiToken, found[0])
    set_committed_value(token, "user", reads.from_row(User, found[0], TOKEN_WIDTH))
    return token


TOKEN_WIDTH = len(reads.columns(ApiToken))


@cache
def token_query() -> sa.Select[Any]:
    """Select the token whose hash is :hash and its owner's columns; built once: every request
    runs it, as plain rows (reads.py), which the ORM instances are made from."""
    return (
        sa.select(*reads.columns(ApiToken), *reads.columns(User))
        .join_from(ApiToken, User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == sa.bindparam("hash", type_=sa.String))
        .where(User.suspended_at.is_(None))  # a suspended person's tokens stop working too
    )


def current_token() -> ApiToken | None:
    """Return the token this API request was made with (after Flask-Login looked), or None."""
    token: ApiToken | None = g.get("api_token")
    return token
