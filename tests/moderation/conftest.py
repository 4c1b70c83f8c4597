"""Fixtures for moderation: an operator, and people to report and suspend."""

import pytest

from microblog.testing import IsolatedClient
from tests.helpers import base_config, sign_in_as


@pytest.fixture
def app_config(database_url):
    return base_config(database_url, ADMINS=("olga", "root@example.org"))


@pytest.fixture
def olga(make_user):
    """An operator, named by MICROBLOG_ADMINS (ADMINS here)."""
    return make_user("olga")


@pytest.fixture
def admin_client(app, olga):
    """A second browser, signed in as the operator."""
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    return sign_in_as(client, olga) and client


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def alice(make_user):
    return make_user("alice")
