"""Test clients that behave like browsers on a real server."""

from __future__ import annotations

import contextvars
import re
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


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Read the CSRF token from a page's form, as a browser would send it."""
    # Signed in, /login redirects to the timeline, whose forms carry the same token.
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token in the form on {path}"
    return match.group(1)
