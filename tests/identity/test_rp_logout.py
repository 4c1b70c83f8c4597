"""RP-Initiated Logout 1.0: signing out here first, then at the provider, and back."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from microblog.config import ConfigError
from microblog.extensions import db
from microblog.identity.models import UserSession
from microblog.identity.providers import load_providers
from tests.helpers import TEST_PROVIDERS, base_config, csrf_token

NEVER = """
[providers.never]
title = "Never SSO"
issuer = "https://never.example.com"
client_id = "never-id"
client_secret = "never-secret"
sign_out_at_provider = "never"
"""


@pytest.fixture
def app_config(database_url, tmp_path):
    """The test providers, Company SSO signing out at the provider always, one never."""
    text = TEST_PROVIDERS.read_text()
    text = text.replace(
        'client_secret = "company-client-secret"\n',
        'client_secret = "company-client-secret"\nsign_out_at_provider = "always"\n',
    )
    path = tmp_path / "providers.toml"
    path.write_text(text + NEVER)
    return base_config(database_url, MICROBLOG_PROVIDERS=str(path))


def record() -> UserSession | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(UserSession))


def sign_out(client, **form: str):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/logout"), **form})


def signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def flashes(client) -> str:
    return client.get("/login").get_data(as_text=True)


def test_the_id_token_is_kept_only_where_signing_out_at_the_provider_may_need_it(client, fake_idp):
    fake_idp.sign_in(client, provider="google")
    assert record().id_token.count(".") == 2  # a compact JWS: the sign-in's ID token
    for provider in ("github", "plain", "never"):
        sign_out(client)
        fake_idp.sign_in(client, provider=provider)
        assert record().id_token is None, provider


def test_ask_offers_also_signing_out_of_the_provider(client, fake_idp):
    fake_idp.sign_in(client, provider="google")
    html = client.get("/logout").get_data(as_text=True)
    assert 'name="at_provider" value="1"> Also sign out of Google' in html


@pytest.mark.parametrize("provider", ["github", "plain", "never"])
def test_no_offer_without_an_end_session_endpoint_or_with_never(client, fake_idp, provider):
    fake_idp.sign_in(client, provider=provider)
    html = client.get("/logout").get_data(as_text=True)
    assert "at_provider" not in html and "Also sign out of" not in html
    resp = sign_out(client, at_provider="1")
    assert resp.headers["Location"] == "/login"
    assert not signed_in(client)


def test_ask_signs_out_here_first_then_at_the_provider_and_back(client, fake_idp):
    fake_idp.sign_in(client, provider="google", sub="g-ann")
    id_token = record().id_token
    resp = sign_out(client, at_provider="1")
    assert record() is None and not signed_in(client)  # ours is done before the provider's
    location = resp.headers["Location"]
    assert location.startswith("https://accounts.google.com/logout?")
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    query = parse_qs(urlsplit(location).query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://localhost/auth/google/signed-out"]
    assert query["client_id"] == ["google-client-id"]
    assert len(query["state"][0]) >= 16
    back = client.get(fake_idp.end_session(location))
    assert fake_idp.signed_out == [("google", "g-ann")]
    assert back.headers["Location"] == "/login"
    # One message, once back: the browser went to the provider before it could be shown.
    assert "You have signed out. You are signed out of Google too." in flashes(client)


def test_ask_without_the_box_ticked_stays_here(client, fake_idp):
    fake_idp.sign_in(client, provider="google")
    resp = sign_out(client)
    assert resp.headers["Location"] == "/login"
    assert not signed_in(client)


def test_always_goes_to_the_provider_without_asking(client, fake_idp):
    fake_idp.sign_in(client, provider="company")
    html = client.get("/logout").get_data(as_text=True)
    assert "This also signs you out of Company SSO." in html and "at_provider" not in html
    location = sign_out(client).headers["Location"]
    assert location.startswith("https://sso.example.com/realms/main/logout?")
    client.get(fake_idp.end_session(location))
    assert "You are signed out of Company SSO too" in flashes(client)


def test_sign_out_everywhere_can_sign_out_at_the_provider_too(app, client, fake_idp):
    phone = app.test_client()
    fake_idp.sign_in(phone, provider="google")
    fake_idp.sign_in(client, provider="google")
    location = sign_out(client, everywhere="1", at_provider="1").headers["Location"]
    assert location.startswith("https://accounts.google.com/logout?")
    assert record() is None and not signed_in(phone)


def back_url(fake_idp, location: str, state: str | None) -> str:
    path = urlsplit(fake_idp.end_session(location)).path
    return f"{path}?state={state}" if state is not None else path


@pytest.mark.parametrize("state", [None, "", "forged-state"])
def test_a_missing_or_different_state_is_no_confirmation(client, fake_idp, state):
    fake_idp.sign_in(client, provider="google")
    location = sign_out(client, at_provider="1").headers["Location"]
    client.get(back_url(fake_idp, location, state))
    page = flashes(client)
    assert "signed out of Google too" not in page
    assert "Google did not confirm that you are signed out there." in page


def test_a_state_is_good_once_and_only_in_its_browser(app, client, fake_idp):
    fake_idp.sign_in(client, provider="google")
    location = sign_out(client, at_provider="1").headers["Location"]
    back = fake_idp.end_session(location)
    other = app.test_client()
    other.get(back)
    assert "signed out of Google too" not in flashes(other)
    client.get(back)
    assert "signed out of Google too" in flashes(client)
    client.get(back)  # replayed
    assert "Google did not confirm" in flashes(client)


def test_coming_back_signs_no_one_out_and_unknown_providers_are_404(client, fake_idp):
    fake_idp.sign_in(client, provider="google")
    client.get("/auth/google/signed-out?state=x")
    page = client.get("/").get_data(as_text=True)
    assert "Google did not confirm" in page and "You have signed out" not in page
    assert signed_in(client)
    assert client.get("/auth/nope/signed-out").status_code == 404


def test_sign_out_at_provider_must_be_ask_always_or_never(tmp_path):
    path = tmp_path / "providers.toml"
    path.write_text('[providers.g]\npreset = "google"\nclient_id = "a"\nclient_secret = "b"\n'
                    'sign_out_at_provider = "sometimes"\n')  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        load_providers(path, {})
    assert str(exc.value) == (
        f"{path}: [providers.g] sign_out_at_provider: 'sometimes' is not one of ask, always, never"
    )
    path.write_text('[providers.g]\npreset = "google"\nclient_id = "a"\nclient_secret = "b"\n')
    assert load_providers(path, {})[0].sign_out_at_provider == "ask"
