"""RP-Initiated Logout against oidc-provider-mock, a provider we did not write, over real HTTP.

oidc-provider-mock 0.3 has an end_session_endpoint (a page with an "End session" button that
sends the browser back with our state) but no back-channel logout: that part is tested with
the kit's fake provider (test_backchannel.py).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from tests import live
from tests.helpers import hidden_fields

pytestmark = live.MOCK_WARNINGS


def test_the_mock_publishes_an_end_session_endpoint(idp):
    meta = requests.get(f"{idp.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert meta["end_session_endpoint"] == f"{idp.issuer}/oauth2/end_session"


def test_sign_out_here_then_at_the_provider_and_back(idp, server, visitor):
    visitor.sign_in(idp.new_person())
    confirm = visitor.get("/logout")
    assert f"Also sign out of {live.MOCK_TITLE}" in confirm.text
    provider_page = visitor.post_form("/logout", confirm, at_provider="1")

    # At the provider's page: our own sign-out is already done.
    assert provider_page.url.startswith(f"{idp.issuer}/oauth2/end_session?")
    query = parse_qs(urlsplit(provider_page.url).query)
    signed_out = f"{server.url}/auth/{live.MOCK_PROVIDER}/signed-out"
    assert query["post_logout_redirect_uri"] == [signed_out]
    assert query["id_token_hint"][0].count(".") == 2 and query["state"][0]
    assert "End session" in provider_page.text
    assert visitor.path(visitor.get("/settings")) == "/login"

    confirmed_before = idp.hits["/oauth2/end_session/confirm"]  # the module shares the provider
    confirm_url = urljoin(provider_page.url, "/oauth2/end_session/confirm")
    back = visitor.http.post(confirm_url, data=hidden_fields(provider_page.text), timeout=30)
    assert visitor.path(back) == "/login"
    assert f"You are signed out of {live.MOCK_TITLE} too" in back.text
    assert idp.hits["/oauth2/end_session/confirm"] == confirmed_before + 1


def test_coming_back_without_our_state_is_no_confirmation(idp, server, visitor):
    visitor.sign_in(idp.new_person())
    provider_page = visitor.post_form("/logout", visitor.get("/logout"), at_provider="1")
    assert provider_page.url.startswith(f"{idp.issuer}/oauth2/end_session?")
    # The mock sends the browser back to whatever URI it is given: here, one without state.
    back = visitor.get(f"/auth/{live.MOCK_PROVIDER}/signed-out")
    assert f"You are signed out of {live.MOCK_TITLE} too" not in back.text
    assert f"{live.MOCK_TITLE} did not confirm that you are signed out there." in back.text
