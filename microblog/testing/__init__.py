"""The testers' kit: a fake identity provider on `responses`, and a helper that signs in.

Load it as a pytest plugin (`pytest_plugins = ["microblog.testing"]`); with an `app` fixture
in your conftest, the `fake_idp` fixture serves every provider in the app's providers.toml
(OpenID Connect, GitHub and plain OAuth 2) without a network:

    def test_timeline(client, fake_idp):
        fake_idp.sign_in(client, email="ann@example.org", provider="google")
        assert client.get("/").status_code == 200

PYTEST_DONT_REWRITE: a conftest may import from here before pytest loads the plugin (as
README's does); pytest would then warn that it cannot rewrite this module's asserts, and
under `filterwarnings = error` that warning fails the run. The kit's asserts say enough.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from flask import Flask

from .client import IsolatedClient, csrf_token
from .fake_idp import FAULTS, FakeIdP
from .person import Person

__all__ = ["FAULTS", "FakeIdP", "IsolatedClient", "Person", "csrf_token", "fake_idp"]


@pytest.fixture
def fake_idp(app: Flask) -> Iterator[FakeIdP]:
    """A fake provider for each of the app's providers; no request leaves the process."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIdP(app, rsps)
