import re

import pytest
from flask import abort
from werkzeug.exceptions import TooManyRequests

from microblog.errors import CSRF_MESSAGE, PAGES
from microblog.extensions import db
from microblog.models import User
from tests.helpers import sign_in_as


@pytest.fixture
def app_config(app_config):
    # Let unhandled exceptions reach the 500 handler, as in production.
    return {**app_config, "PROPAGATE_EXCEPTIONS": False}


@pytest.fixture
def failing(app):
    """Routes that fail on demand, added before the app's first request."""

    def fail(code):
        if code == 429:
            raise TooManyRequests(retry_after=30)
        abort(code)

    def crash():
        # A failed statement leaves the session unusable until someone rolls it back.
        db.session.add(User(nickname="alice", email="copy@example.org"))
        db.session.flush()

    app.add_url_rule("/fail/<int:code>", view_func=fail)
    app.add_url_rule("/crash", view_func=crash)
    app.add_url_rule("/precise", view_func=lambda: abort(404, "No such thing, precisely."))
    return app


def in_layout(html):
    return '<a class="site-name" href="/">microblog</a>' in html and '<main id="content">' in html


@pytest.mark.parametrize("code", [400, 403, 404, 405, 413, 429, 500])
def test_error_pages_are_friendly_and_in_the_layout(client, failing, code):
    response = client.get(f"/fail/{code}")
    html = response.get_data(as_text=True)
    title, message = PAGES[code]
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert in_layout(html)
    assert f"<title>{title} · microblog</title>" in html
    assert f"<h1>{title}</h1>" in html
    assert f"<p>{message}</p>" in html


def test_unknown_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.get_data(as_text=True)


def test_a_precise_message_replaces_the_general_one(client, failing):
    html = client.get("/precise").get_data(as_text=True)
    assert "<p>No such thing, precisely.</p>" in html
    assert PAGES[404][1] not in html


def test_405_keeps_its_allow_header(client, make_user):
    make_user("bob")
    response = client.get("/u/bob/follow")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert in_layout(response.get_data(as_text=True))


def test_429_keeps_its_retry_after_header(client, failing):
    assert client.get("/fail/429").headers["Retry-After"] == "30"


def test_500_rolls_back_and_shows_the_page(client, failing, make_user):
    sign_in_as(client, make_user("alice"))
    response = client.get("/crash")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "<h1>Something went wrong</h1>" in html
    # The header needs the signed-in user from the database, after the failed statement.
    assert '<a href="/u/alice">alice</a>' in html


def test_too_large_a_form_is_a_413_page(client):
    response = client.post("/", data={"body": "x" * 70_000})
    assert response.status_code == 413
    assert "<h1>Too much at once</h1>" in response.get_data(as_text=True)


def test_csrf_failure_is_a_friendly_400(client):
    response = client.post("/logout", data={"csrf_token": "forged"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert in_layout(html)
    assert f"<p>{CSRF_MESSAGE}</p>" in html
    assert "CSRF" not in re.sub(r'name="csrf_token"', "", html)


def test_error_page_shows_who_is_signed_in(client, make_user):
    sign_in_as(client, make_user("alice"))
    html = client.get("/no/such/page").get_data(as_text=True)
    assert '<a href="/u/alice">alice</a>' in html
