"""Helpers shared by the tests: settings for a test app, skipping for missing parts, forms."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("MICROBLOG_TEST_POSTGRES_URL")
# CI sets this: a test that would skip for want of a browser or a database fails instead.
STRICT = os.environ.get("MICROBLOG_TEST_STRICT") == "1"
TEST_PROVIDERS = Path(__file__).parent / "providers.test.toml"


def need(condition: bool, reason: str) -> None:
    """Skip (or, in strict CI runs, fail) when a real part the test needs is missing."""
    if not condition:
        if STRICT:
            pytest.fail(f"{reason} (MICROBLOG_TEST_STRICT=1 forbids skipping)")
        pytest.skip(reason)


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


def csrf_token(client, path: str = "/login") -> str:
    """Read a page's CSRF token (the kit's helper, imported late so pytest can rewrite it)."""
    from microblog.testing import csrf_token as read_token

    return read_token(client, path)
