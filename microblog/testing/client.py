"""Test clients that behave like browsers on a real server."""

from __future__ import annotations

import contextvars
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


class IsolatedClient(FlaskClient):
    """A test client whose every request gets fresh contexts, as on a real server.

    Flask reuses an app context a test has pushed for the requests made inside it, so `g`
    (Flask-Login's current user, Flask-WTF's CSRF token) would leak from one request into
    the next. Use it with `app.test_client_class = IsolatedClient`.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        return contextvars.Context().run(super().open, *args, **kwargs)


class _HiddenFields(HTMLParser):
    """The hidden inputs of a page, as a browser would submit them."""

    def __init__(self, html: str):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and a.get("type") == "hidden" and name:
            self.fields[name] = a.get("value") or ""


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs (name: value) of a page's forms, CSRF token included."""
    return _HiddenFields(html).fields


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Read the CSRF token from a page's form, as a browser would send it."""
    # Signed in, /login redirects to the timeline, whose forms carry the same token.
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    token = hidden_fields(html).get("csrf_token")
    assert token, f"no CSRF token in the form on {path}"
    return token
