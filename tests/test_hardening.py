"""Hardening: the public URL pins the Host, private files, pages with personal data uncached."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import responses
import sqlalchemy as sa
from flask_migrate import upgrade

from microblog import create_app
from microblog.config import ConfigError, public_url
from microblog.extensions import db
from microblog.models import User
from microblog.testing import FakeIdP
from tests import live
from tests.helpers import base_config, csrf_token

PUBLIC = "https://blog.example"


@pytest.fixture
def public_app(database_url, request):
    """The app with MICROBLOG_PUBLIC_URL set; a test may parametrize extra settings."""
    settings = getattr(request, "param", {})
    app = create_app(base_config(database_url, PUBLIC_URL=PUBLIC, **settings))
    yield app
    with app.app_context():
        db.engine.dispose()


def callback_url(client, **headers: str) -> str:
    """Press a sign-in button; return the redirect_uri the app sends to the provider."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeIdP(client.application, rsps)
        page = client.get("/login", headers=headers)
        form = {"csrf_token": live.hidden_fields(page.get_data(as_text=True))["csrf_token"]}
        referer = {"Referer": f"{PUBLIC}/login"}  # Flask-WTF checks it over https
        started = client.post("/login/google", data=form, headers={**headers, **referer})
    return live.query_param(started.headers["Location"], "redirect_uri")


@pytest.mark.parametrize("host", ["rebind.attacker.example", "blog.example.evil", "127.0.0.1"])
def test_with_a_public_url_other_hosts_get_a_400(public_app, host):
    client = public_app.test_client()
    resp = client.get("/login", headers={"Host": host})
    assert resp.status_code == 400
    assert "answers only at its own address" in resp.get_data(as_text=True)
    assert client.post("/login/google", headers={"Host": host}).status_code == 400


def test_with_a_public_url_the_callback_is_the_public_one(public_app):
    """No proxy is trusted and the last hop is plain http: the public URL still rules."""
    client = public_app.test_client()
    assert client.get("/login", headers={"Host": "blog.example"}).status_code == 200
    assert callback_url(client, Host="blog.example") == f"{PUBLIC}/auth/google/callback"


@pytest.mark.parametrize("public_app", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_behind_a_proxy_the_forwarded_host_must_be_the_public_one(public_app):
    client = public_app.test_client()
    forged = {"X-Forwarded-Host": "rebind.attacker.example", "X-Forwarded-Proto": "https"}
    assert client.get("/login", headers=forged).status_code == 400
    good = {"X-Forwarded-Host": "blog.example", "X-Forwarded-Proto": "https"}
    assert client.get("/login", headers=good).status_code == 200
    assert callback_url(client, **good) == f"{PUBLIC}/auth/google/callback"


def test_without_a_public_url_any_host_is_served(client):
    assert client.get("/login", headers={"Host": "anything.example"}).status_code == 200


@pytest.mark.parametrize(
    ("value", "normal"),
    [("https://Blog.Example/", "https://blog.example"), ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
     ("https://blog.example:443", "https://blog.example"), ("", None)],
)  # fmt: skip
def test_public_urls_are_normalised(value, normal):
    assert public_url(value) == normal


@pytest.mark.parametrize(
    "value",
    ["blog.example", "ftp://blog.example", "https://blog.example/microblog", "https://u@blog.example",
     "https://blog.example:99999", "https://blog.example/?x=1"],
)  # fmt: skip
def test_a_public_url_that_is_not_one_stops_the_start(value, monkeypatch, tmp_path):
    monkeypatch.setenv("MICROBLOG_PUBLIC_URL", value)
    with pytest.raises(ConfigError, match="MICROBLOG_PUBLIC_URL"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})


# --- ids are never reused, and identicons never pass to the next holder of a nickname -------


def delete_account(client, nickname: str) -> None:
    token = csrf_token(client, "/settings")
    resp = client.post("/settings/delete", data={"csrf_token": token, "confirm": nickname})
    assert resp.headers["Location"] == "/login"


def user_id(nickname: str) -> int:
    return db.session.scalar(sa.select(User.id).where(User.nickname == nickname))


def test_a_deleted_accounts_id_and_identicon_go_to_nobody(app, fake_idp):
    first = app.test_client()
    fake_idp.sign_in(first, email="ann@example.org")
    ann_id, ann_icon = user_id("ann"), first.get("/u/ann/avatar.svg").data
    delete_account(first, "ann")

    second = app.test_client()  # someone else, whose address also makes the nickname "ann"
    assert fake_idp.sign_in(second, email="ann@elsewhere.example").headers["Location"] == "/"
    assert user_id("ann") != ann_id
    assert second.get("/u/ann/avatar.svg").data != ann_icon


def test_identicons_do_not_derive_from_the_id_alone(app, client, make_user):
    """Even a reused id (an old SQLite database, say) draws another identicon."""
    ann = make_user("ann")
    ann_id, ann_icon = ann.id, client.get("/u/ann/avatar.svg").data
    db.session.delete(ann)
    db.session.commit()
    make_user("ann", id=ann_id, created_at=ann.created_at + timedelta(days=1))
    assert client.get("/u/ann/avatar.svg").data != ann_icon


def test_upgrading_an_sqlite_database_keeps_every_row(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    app = create_app(base_config(url))
    tables = ("user", "identity", "post", "follow", "sign_in")
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as conn:
            for sql in OLD_ROWS:
                conn.execute(sa.text(sql))
        upgrade()
        with db.engine.begin() as conn:
            counts = [conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables]
            assert counts == [2, 1, 1, 1, 1]
            conn.execute(sa.text('DELETE FROM "user" WHERE id = 2'))  # the newest account
            conn.execute(sa.text(NEW_USER))
            assert conn.execute(sa.text('SELECT max(id) FROM "user"')).scalar() == 3
            counts = [conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables]
            assert counts == [2, 0, 0, 0, 0]  # foreign keys are on again: the delete cascaded
        db.engine.dispose()


NEW_USER = (  # in the schema of today: no session_token since 0006
    'INSERT INTO "user" (nickname, email, about, created_at) '
    "VALUES ('c', 'c@example.org', '', '2026-01-02 00:00:00')"
)
OLD_ROWS = [
    'INSERT INTO "user" (id, nickname, email, about, created_at, session_token) VALUES '
    "(1, 'a', 'a@example.org', '', '2026-01-01 00:00:00', 't'), "
    "(2, 'b', 'b@example.org', '', '2026-01-01 00:00:00', 't')",
    "INSERT INTO identity (user_id, provider, subject, email, created_at, last_used_at) "
    "VALUES (2, 'google', 's', 'b@example.org', '2026-01-01', '2026-01-01')",
    "INSERT INTO post (user_id, body, created_at) VALUES (2, 'hi', '2026-01-01')",
    "INSERT INTO follow (follower_id, followed_id, created_at) VALUES (1, 2, '2026-01-01')",
    "INSERT INTO sign_in (user_id, provider, created_at) VALUES (2, 'google', '2026-01-01')",
]


# --- the SQLite file is private ----------------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual default, under which files come out 0644
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_journals_are_private(tmp_path, umask_022):
    path = tmp_path / "microblog.sqlite"
    app = create_app(base_config(f"sqlite:///{path}"))
    with app.app_context():
        upgrade()
        assert mode(path) == 0o600
        with db.engine.connect() as conn:
            conn.execute(sa.text("PRAGMA journal_mode=WAL"))
            conn.execute(sa.text(NEW_USER))
            conn.commit()
            assert mode(path.with_name(path.name + "-wal")) == 0o600
            assert mode(path.with_name(path.name + "-shm")) == 0o600
            conn.execute(sa.text("PRAGMA journal_mode=DELETE"))
        with db.engine.connect() as conn:
            conn.execute(sa.text('DELETE FROM "user"'))
            journal = path.with_name(path.name + "-journal")
            assert mode(journal) == 0o600  # the rollback journal, while the change is open
            conn.rollback()
        db.engine.dispose()


def test_an_existing_sqlite_database_keeps_its_permissions(tmp_path, umask_022):
    path = tmp_path / "microblog.sqlite"
    path.touch(mode=0o640)  # the operator's choice, e.g. for a backup group
    app = create_app(base_config(f"sqlite:///{path}"))
    with app.app_context():
        db.engine.dispose()
    assert mode(path) == 0o640


# --- pages with personal data are not kept by caches ---------------------------------------------


def test_settings_are_never_stored_by_a_cache(client, fake_idp):
    fake_idp.sign_in(client, email="ann@example.org")
    page = client.get("/settings")
    assert "ann@example.org" in page.get_data(as_text=True)  # the account's email, and
    assert "127.0.0.1" in page.get_data(as_text=True)  # the sign-in history
    assert page.headers["Cache-Control"] == "no-store"
    token = csrf_token(client, "/settings")
    refused = client.post("/settings", data={"csrf_token": token, "nickname": "not a nickname!"})
    assert refused.status_code == 422 and refused.headers["Cache-Control"] == "no-store"
    refused = client.post("/settings/delete", data={"csrf_token": token, "confirm": "no"})
    assert refused.status_code == 422 and refused.headers["Cache-Control"] == "no-store"


def test_a_page_showing_a_flashed_email_is_never_stored(client, fake_idp):
    fake_idp.sign_in(client, email="ann@example.org", email_verified=False)
    page = client.get("/login")
    assert "ann@example.org" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_other_pages_keep_their_caching(client):
    assert "Cache-Control" not in client.get("/login").headers
    assert "Cache-Control" not in client.get("/explore").headers
