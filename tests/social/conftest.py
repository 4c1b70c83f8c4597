"""Fixtures for the microblog's pages: signing the test client in as someone."""

import pytest

from tests.helpers import sign_in_as


@pytest.fixture
def sign_in(client):
    """Sign the test client in as a user, without the provider round trip (tested in auth)."""

    return lambda user: sign_in_as(client, user)


@pytest.fixture
def alice(make_user, sign_in):
    return sign_in(make_user("alice"))
