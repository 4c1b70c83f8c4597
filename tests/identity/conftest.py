"""Fixtures for the interop tests: an app signing in with oidc-provider-mock over real HTTP."""

from __future__ import annotations

import pytest

from microblog import create_app
from microblog.extensions import db
from tests import live
from tests.helpers import base_config


@pytest.fixture
def site(server, idp, database_url, tmp_path):
    """A fresh app on a fresh database, with the module's oidc-provider-mock as its provider,
    served by the module's server."""
    providers = tmp_path / "providers.toml"
    providers.write_text(idp.providers_toml())
    app = create_app(base_config(database_url, MICROBLOG_PROVIDERS=str(providers)))
    server.app = app
    yield app
    server.app = None
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def visitor(server, site):
    """One person's browser on that site (requests, following real redirects)."""
    with live.Visitor(server.url) as visitor:
        yield visitor
