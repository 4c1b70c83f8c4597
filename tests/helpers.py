"""Helpers shared by the tests: settings for a test app, skipping for missing parts, forms."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

# CI sets this: a test that would skip for want of a browser or a database fails instead.
STRICT = os.environ.get("MICROBLOG_TEST_STRICT") == "1"
TEST_PROVIDERS = Path(__file__).parent / "providers.test.toml"
# Where `make test` looks for PostgreSQL when MICROBLOG_TEST_POSTGRES_URL is not set.
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_OFF = ("", "none", "off")


def need(condition: bool, reason: str) -> None:
    """Skip (or, in strict CI runs, fail) when a real part the test needs is missing."""
    if not condition:
        if STRICT:
            pytest.fail(f"{reason} (MICROBLOG_TEST_STRICT=1 forbids skipping)")
        pytest.skip(reason)


@functools.cache
def postgres() -> tuple[str | None, str]:
    """The PostgreSQL URL the tests use and how it was chosen, or None and why there is none."""
    configured = os.environ.get("MICROBLOG_TEST_POSTGRES_URL")
    if configured is not None and configured.strip().lower() in POSTGRES_OFF:
        return None, f"PostgreSQL tests are off (MICROBLOG_TEST_POSTGRES_URL={configured!r})"
    if configured is not None:
        return configured, "from MICROBLOG_TEST_POSTGRES_URL"
    problem = connect_problem(DEFAULT_POSTGRES_URL)
    if problem is None:
        return DEFAULT_POSTGRES_URL, "found at the default address"
    return None, (
        f"no PostgreSQL at {DEFAULT_POSTGRES_URL} ({problem}); set MICROBLOG_TEST_POSTGRES_URL "
        "to use another one"
    )


def connect_problem(url: str, timeout: int = 2) -> str | None:
    """Try one connection to `url`; return why it failed, or None if it worked."""
    engine = sa.create_engine(
        url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": timeout}
    )
    try:
        with engine.connect():
            return None
    except sa.exc.DBAPIError as exc:
        lines = str(exc.orig).strip().splitlines()
        return lines[0] if lines else type(exc.orig).__name__
    finally:
        engine.dispose()


def base_config(database_url: str, **overrides: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MICROBLOG_PROVIDERS": str(TEST_PROVIDERS),
        "MICROBLOG_ENV": "production",
        # Many sign-ins from one address per test; test_security turns the limits back on.
        "RATELIMIT_ENABLED": False,
        **overrides,
    }


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page's forms: the one form parser, the kit's (imported late so
    pytest can rewrite the kit, a plugin, before anything imports it)."""
    from microblog.testing.client import hidden_fields as parse

    return parse(html)


def csrf_token(client, path: str = "/login") -> str:
    """Read a page's CSRF token (the kit's helper, imported late for the same reason)."""
    from microblog.testing import csrf_token as read_token

    return read_token(client, path)


def sign_in_as(client, user, provider: str = "google", **details):
    """Sign `client` in as `user` the way Flask-Login records it, with no provider round trip:
    a session record of its own, and the session cookie naming it. Returns user.

    For tests about pages; signing in itself is tested through the real views (tests/identity).
    """
    from microblog.identity.sessions import create_record

    create_record(user, provider, f"{provider}-{user.id}", **details)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return user


def signed_in_as(client) -> str | None:
    """Return the nickname the client's session cookie names, through its session record."""
    from microblog.extensions import db
    from microblog.identity.models import UserSession

    with client.session_transaction() as session:
        cookie_id = session.get("_user_id")
    if not cookie_id:
        return None
    record = db.session.get(UserSession, int(cookie_id.split(":")[0]))
    return record.user.nickname if record else None
