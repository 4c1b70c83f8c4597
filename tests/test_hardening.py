"""Hardening: the public URL pins the Host, private files, pages with personal data uncached."""

from __future__ import annotations

import pytest
import responses

from microblog import create_app
from microblog.config import ConfigError, public_url
from microblog.extensions import db
from microblog.testing import FakeIdP
from tests import live
from tests.helpers import base_config

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
