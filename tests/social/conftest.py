"""Fixtures for the microblog's pages: signing the test client in as someone."""

import pytest


@pytest.fixture
def sign_in(client):
    """Sign the test client in as a user, without the provider round trip (tested in auth)."""

    def sign_in(user):
        with client.session_transaction() as s:
            s["_user_id"] = user.get_id()
            s["_fresh"] = True
        return user

    return sign_in


@pytest.fixture
def alice(make_user, sign_in):
    return sign_in(make_user("alice"))
