"""Fixtures for the API: people with tokens, and requests that carry them."""

import pytest

from microblog.api.tokens import create_token


@pytest.fixture
def token_for():
    """Make a token for a user; return its secret."""

    def make(user, scope="read write", name="script"):
        return create_token(user.id, name, scope)[1]

    return make


@pytest.fixture
def api(client):
    """Call the API with a token: api("get", "/timeline", token, json=...)."""

    def call(method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return getattr(client, method)(f"/api/v1{path}", headers=headers, **kwargs)

    return call


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob", display_name="Bob")
