"""Settings from the environment and the instance folder."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest

from microblog import create_app
from microblog.config import ConfigError, database_url, engine_options, load_secret_key
from microblog.extensions import db
from tests.helpers import TEST_PROVIDERS


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    key = load_secret_key(str(tmp_path))
    path = tmp_path / "secret_key"
    assert len(key) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret_key(str(tmp_path)) == key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "sqlite:///microblog.sqlite"),
        ("", "sqlite:///microblog.sqlite"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////var/lib/mb.sqlite", "sqlite:////var/lib/mb.sqlite"),
    ],
)
def test_database_url(value, expected):
    assert database_url(value) == expected


def test_environment_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv("MICROBLOG_PROVIDERS", str(TEST_PROVIDERS))
    monkeypatch.setenv("MICROBLOG_REMEMBER_DAYS", "7")
    monkeypatch.setenv("MICROBLOG_OAUTH_TIMEOUT", "3.5")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.sqlite"
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=7)
    assert app.config["OAUTH_TIMEOUT"] == 3.5
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_HTTPONLY"]


def test_a_bad_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MICROBLOG_OAUTH_TIMEOUT", "soon")
    monkeypatch.setenv("MICROBLOG_PROVIDERS", str(TEST_PROVIDERS))
    with pytest.raises(ConfigError, match="MICROBLOG_OAUTH_TIMEOUT='soon' is not a number"):
        create_app({"SECRET_KEY": "x"})


def test_cookies_are_secure_under_https(client):
    resp = client.get("/login", base_url="https://blog.example.com")
    assert "Secure" in resp.headers["Set-Cookie"]
    resp = client.get("/login", base_url="http://localhost")
    assert "Secure" not in resp.headers.get("Set-Cookie", "")


def test_the_sqlite_page_cache_is_sized(monkeypatch, tmp_path):
    # SQLite's default 2 MiB re-read the timelines' index pages on every page at 1M posts.
    path = tmp_path / "x.sqlite"
    monkeypatch.setenv("MICROBLOG_PROVIDERS", str(TEST_PROVIDERS))
    for env, kib in ((None, 12 * 1024), ("3", 3 * 1024)):
        if env is not None:
            monkeypatch.setenv("MICROBLOG_SQLITE_CACHE_MIB", env)
        app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        with app.app_context(), db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -kib
            db.engine.dispose()


def test_a_sqlite_file_reuses_its_warm_connection_first(tmp_path):
    # The pool hands out the connection returned last: its page cache is the warm one.
    options = engine_options(
        {"SQLALCHEMY_ENGINE_OPTIONS": {}, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x"}
    )
    assert options["pool_use_lifo"] is True
    for memory in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"):
        config = {"SQLALCHEMY_ENGINE_OPTIONS": {}, "SQLALCHEMY_DATABASE_URI": memory}
        assert "pool_use_lifo" not in engine_options(config)
