"""The login page remembers the provider this browser last signed in with, and only that."""

from __future__ import annotations

import re

from microblog.testing import IsolatedClient


def buttons(client) -> list[str]:
    html = client.get("/login").get_data(as_text=True)
    return re.findall(r"Sign in with ([^<]+)</button>", html)


def cookie(client, name="last_provider"):
    return client.get_cookie(name)


def test_first_visit_lists_providers_in_file_order(client):
    assert buttons(client) == ["Google", "GitHub", "Company SSO", "Plain OAuth"]
    assert "Last used" not in client.get("/login").get_data(as_text=True)


def test_after_signing_in_the_provider_comes_first(client, fake_idp):
    fake_idp.sign_in(client, provider="github")
    set_cookie = cookie(client)
    assert set_cookie.value == "github"  # the provider's name, nothing about the person
    assert set_cookie.http_only and set_cookie.same_site == "Lax"
    assert set_cookie.max_age == 400 * 24 * 3600
    client.post("/logout", data={"csrf_token": csrf(client)})
    html = client.get("/login").get_data(as_text=True)
    assert "Last used: GitHub" in html
    assert buttons(client) == ["GitHub", "Google", "Company SSO", "Plain OAuth"]
    # The form's default action (Enter) is the last-used provider too.
    assert 'action="/login/github"' in html


def csrf(client) -> str:
    from microblog.testing import csrf_token

    return csrf_token(client, "/logout")


def test_the_next_sign_in_elsewhere_replaces_it(client, fake_idp):
    fake_idp.sign_in(client, provider="github")
    client.post("/logout", data={"csrf_token": csrf(client)})
    fake_idp.sign_in(client, provider="company", email="bob@example.org")
    assert cookie(client).value == "company"


def test_a_failed_sign_in_is_not_remembered(client, fake_idp):
    fake_idp.fail("token_500")
    fake_idp.sign_in(client, provider="github")
    assert cookie(client) is None


def test_a_cookie_naming_no_ready_provider_changes_nothing(app):
    client: IsolatedClient = app.test_client()
    for value in ("nosuch", "<script>", ""):
        client.set_cookie("last_provider", value)
        assert buttons(client) == ["Google", "GitHub", "Company SSO", "Plain OAuth"]
        assert "Last used" not in client.get("/login").get_data(as_text=True)


def test_over_https_the_cookie_is_secure(app, fake_idp):
    client = app.test_client()
    callback = fake_idp.authorize(fake_idp.start(client, "google").headers["Location"])
    resp = client.get(callback, base_url="https://localhost")
    [last] = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("last_provider=")]
    assert last.startswith("last_provider=google;")
    assert "Secure" in last and "HttpOnly" in last and "SameSite=Lax" in last
