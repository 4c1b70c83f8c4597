"""Health checks, bounded waits, a database outage and a Redis outage, through the real views."""

from __future__ import annotations

import logging
import shutil
import time

import pytest
import sqlalchemy as sa

from microblog import create_app
from microblog.extensions import db, limiter
from microblog.models import User
from microblog.social.models import Post
from tests.helpers import base_config, csrf_token, sign_in_as

DEAD_PORT = 1  # nothing listens on loopback port 1: connections are refused at once
OUTAGE_TEXT = "Try again in a moment"


def test_healthz_answers_without_the_database_or_a_cookie(client, statements):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert statements == []


def test_readyz_runs_one_read_and_sets_no_cookie(client, statements):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "redis": "not configured"}
    assert "Set-Cookie" not in response.headers
    assert [s.strip().upper() for s in statements] == ["SELECT 1"]


def test_readyz_is_not_rate_limited(database_url):
    app = create_app(
        base_config(database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2/minute")
    )
    client = app.test_client()
    assert [client.get("/readyz").status_code for _ in range(5)] == [200] * 5
    with app.app_context():
        db.engine.dispose()


def test_readyz_turns_away_when_the_database_is_unreachable():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{DEAD_PORT}/none"
    app = create_app(base_config(url))
    client = app.test_client()
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
    assert client.get("/healthz").status_code == 200  # alive, just not ready
    assert time.monotonic() - started < 5


def test_pages_say_try_again_when_the_database_is_unreachable():
    app = create_app(base_config(f"postgresql+psycopg://postgres@127.0.0.1:{DEAD_PORT}/none"))
    response = app.test_client().get("/explore")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert OUTAGE_TEXT in page and '<main id="content">' in page  # the site's layout
    assert response.headers["Retry-After"] == "5"


@pytest.fixture
def app_config(database_url):
    # Short waits, so that the outage tests take a second, not ten.
    return base_config(database_url, DATABASE_STATEMENT_TIMEOUT=0.3)


def test_a_post_sent_during_an_outage_is_kept_on_a_503_page(app, client, make_user):
    user = make_user()
    sign_in_as(client, user)
    token = csrf_token(client, "/")
    text = "Written while the database <was> away"
    db.session.rollback()  # the test's own read of the user would hold up the lock below
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as blocker:
        if engine.dialect.name == "sqlite":
            blocker.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            blocker.begin()
            blocker.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # never hang the test
            blocker.execute(sa.text('LOCK TABLE "user", post IN ACCESS EXCLUSIVE MODE'))
        started = time.monotonic()
        response = client.post("/", data={"csrf_token": token, "body": text})
        waited = time.monotonic() - started
        blocker.rollback()
    engine.dispose()
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert OUTAGE_TEXT in page
    assert "Written while the database &lt;was&gt; away</textarea>" in page  # kept, escaped
    assert 'action="/"' in page and 'name="csrf_token"' in page
    assert waited < 3  # the statement timeout, not a hung worker
    # The database is back: "Send again" publishes it, still signed in.
    again = client.post("/", data={"csrf_token": token, "body": text})
    assert again.status_code == 302
    assert db.session.scalar(sa.select(Post.body)) == text


@pytest.fixture
def fresh_limiter():
    # The Limiter object is shared by every app in this process and remembers "storage dead"
    # across them: start and end each test with it alive.
    limiter._storage_dead = False
    yield
    limiter._storage_dead = False


def test_without_redis_pages_work_and_limits_count_per_process(
    tmp_path, fresh_limiter, caplog, sqlite_template
):
    path = tmp_path / "db.sqlite"
    shutil.copy(sqlite_template, path)
    config = base_config(
        f"sqlite:///{path}",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{DEAD_PORT}/0",
        POST_RATE_LIMIT="3 per minute",
    )
    app = create_app(config)
    with app.app_context():
        person = User(nickname="ann", email="ann@example.org")
        db.session.add(person)
        db.session.commit()
        client = app.test_client()
        sign_in_as(client, person)
        caplog.set_level(logging.WARNING, logger="flask-limiter")
        pages = [client.get(p).status_code for p in ("/", "/explore", "/u/ann", "/readyz")]
        token = csrf_token(client, "/")
        posts = [
            client.post("/", data={"csrf_token": token, "body": f"post {n}"}).status_code
            for n in range(4)
        ]
        ready = client.get("/readyz").get_json()
        db.engine.dispose()
    assert pages == [200, 200, 200, 200]
    assert posts == [302, 302, 302, 429]  # still limited, by this process's own counters
    assert ready == {"database": "ok", "redis": "down"}
    warnings = [r for r in caplog.records if "falling back to in-memory" in r.getMessage()]
    assert len(warnings) == 1  # one warning for the outage, not one per request


def test_postgresql_connections_get_bounded_waits():
    url = "postgresql+psycopg://app@db.internal/microblog?options=-csearch_path%3Dtenant"
    config = base_config(url, DATABASE_CONNECT_TIMEOUT=3, DATABASE_STATEMENT_TIMEOUT=2.5)
    app = create_app(config)
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    args = options["connect_args"]
    assert args["connect_timeout"] == 3
    assert args["options"] == "-csearch_path=tenant -c statement_timeout=2500"
    assert args["tcp_user_timeout"] == 3000
    assert options["pool_pre_ping"] is True and options["pool_timeout"] == 5.0


def test_redis_waits_are_bounded(database_url):
    config = base_config(database_url, RATELIMIT_STORAGE_URI="redis://cache.internal:6379/0")
    app = create_app({**config, "REDIS_TIMEOUT": 0.25})
    assert app.config["RATELIMIT_STORAGE_OPTIONS"] == {
        "socket_timeout": 0.25,
        "socket_connect_timeout": 0.25,
    }


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_still_starts(url):
    app = create_app(base_config(url))
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT 1")) == 1
