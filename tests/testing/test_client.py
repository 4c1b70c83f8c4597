"""IsolatedClient gives each request fresh contexts; csrf_token reads what a form would send."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import g
from flask.testing import FlaskClient

from microblog.testing import IsolatedClient, csrf_token


@pytest.fixture
def probe(app):
    """A page that says whether `g` still holds what an earlier request put there."""

    def seen_before() -> str:
        before = g.get("probe", "fresh")
        g.probe = "leaked"
        return before

    app.add_url_rule("/_probe", "probe", seen_before)
    return "/_probe"


def test_each_request_gets_a_fresh_g(app, probe):
    client = app.test_client()
    assert isinstance(client, IsolatedClient)
    assert [client.get(probe).get_data(as_text=True) for _ in range(2)] == ["fresh", "fresh"]


def test_a_plain_client_shares_g_with_the_tests_app_context(app, probe):
    # Why the kit has IsolatedClient: the `app` fixture pushed an app context, and Flask
    # runs every request of a plain test client inside it.
    client = FlaskClient(app, app.response_class, use_cookies=True)
    assert [client.get(probe).get_data(as_text=True) for _ in range(2)] == ["fresh", "leaked"]


def test_a_signed_in_client_does_not_sign_in_the_next(app, fake_idp):
    ann, stranger = app.test_client(), app.test_client()
    assert fake_idp.sign_in(ann).headers["Location"] == "/"
    assert ann.get("/").status_code == 200
    # Flask-Login keeps the current user in g: shared, the stranger would see Ann's timeline.
    assert urlsplit(stranger.get("/settings").headers["Location"]).path == "/login"


def test_csrf_token_is_the_one_the_form_sends(client, fake_idp):
    token = csrf_token(client)
    started = client.post("/login/google", data={"csrf_token": token})
    assert started.status_code == 302
    assert started.headers["Location"].startswith("https://accounts.google.com/")
    assert client.post("/login/google", data={"csrf_token": "not-it"}).status_code == 400


def test_csrf_token_follows_a_signed_in_login_to_the_timeline(client, fake_idp):
    fake_idp.sign_in(client)
    token = csrf_token(client)
    assert token == csrf_token(client, "/settings")


def test_csrf_token_says_when_a_page_has_no_form(client):
    with pytest.raises(AssertionError, match="no CSRF token in the form on /nowhere"):
        csrf_token(client, "/nowhere")
