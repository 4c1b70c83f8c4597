"""The sign-in flow through the real views, against the fake providers of microblog.testing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import sqlalchemy as sa

from microblog.extensions import db
from microblog.identity.models import Identity
from microblog.models import User
from microblog.testing import Person
from tests.helpers import csrf_token, signed_in_as


def users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.id)))


def flashes(client) -> str:
    """The login page as the browser sees it after a failed sign-in."""
    return client.get("/login").get_data(as_text=True)


def test_login_page_lists_ready_providers_and_carries_next(client):
    html = client.get("/login?next=/explore").get_data(as_text=True)
    for title in ("Google", "GitHub", "Company SSO", "Plain OAuth"):
        assert f"Sign in with {title}" in html
    assert 'formaction="/login/company"' in html
    assert 'name="next" value="/explore"' in html
    assert 'name="remember_me"' in html


def test_login_page_drops_an_offsite_next(client):
    html = client.get("/login?next=https://evil.example.com/").get_data(as_text=True)
    assert "evil.example.com" not in html


def test_start_redirects_to_provider_with_state_nonce_and_pkce(client, fake_idp):
    resp = fake_idp.start(client, "google")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("https://accounts.google.com/authorize?")
    for param in (
        "state=",
        "nonce=",
        "code_challenge=",
        "code_challenge_method=S256",
        "redirect_uri=http%3A%2F%2Flocalhost%2Fauth%2Fgoogle%2Fcallback",
    ):
        assert param in location


@pytest.mark.parametrize("provider", ["github", "plain"])
def test_pkce_on_oauth2_providers_too(client, fake_idp, provider):
    location = fake_idp.start(client, provider).headers["Location"]
    assert "code_challenge_method=S256" in location
    assert "nonce=" not in location  # no ID token, so no nonce


def test_first_sign_in_creates_user_with_derived_nickname(client, fake_idp):
    resp = fake_idp.sign_in(client, email="Ann.Smith+blog@Example.org", provider="google")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    [user] = users()
    assert user.nickname == "ann_smith"
    assert user.email == "ann.smith+blog@example.org"
    [identity] = user.identities
    assert (identity.provider, identity.subject) == (
        "google",
        Person(email="Ann.Smith+blog@Example.org").subject,
    )
    assert signed_in_as(client) == "ann_smith"


def test_next_sign_in_finds_the_same_user_even_with_a_new_email(client, fake_idp):
    fake_idp.sign_in(client, email="ann@example.org", sub="google-123")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    fake_idp.sign_in(client, email="ann.new@example.org", sub="google-123")
    [user] = users()
    assert signed_in_as(client) == user.nickname
    assert user.identities[0].email == "ann.new@example.org"


def test_second_provider_with_same_verified_email_links_to_same_user(client, fake_idp):
    fake_idp.sign_in(client, email="ann@example.org", provider="google")
    fake_idp.sign_in(client, email="ANN@example.org", provider="company")
    [user] = users()
    assert sorted(i.provider for i in user.identities) == ["company", "google"]


def test_same_email_at_two_providers_never_makes_two_accounts(client, fake_idp):
    fake_idp.sign_in(client, email="bob@example.org", provider="github")
    fake_idp.sign_in(client, email="bob@example.org", provider="plain")
    assert len(users()) == 1


@pytest.mark.parametrize("provider", ["google", "company", "github", "plain"])
def test_unverified_email_is_refused(client, fake_idp, provider):
    resp = fake_idp.sign_in(
        client, email="eve@example.org", provider=provider, email_verified=False
    )
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert "is not verified" in flashes(client)
    assert users() == [] and db.session.scalar(sa.select(sa.func.count(Identity.id))) == 0


@pytest.mark.parametrize("provider", ["google", "github", "plain"])
def test_no_email_is_refused(client, fake_idp, provider):
    resp = fake_idp.sign_in(client, email=None, provider=provider)
    assert resp.headers["Location"].startswith("/login")
    assert "did not share an email address" in flashes(client)
    assert users() == []


def test_unverified_email_cannot_take_over_an_existing_account(client, fake_idp, make_user):
    victim = make_user(nickname="victim", email="victim@example.org")
    fake_idp.sign_in(client, email="victim@example.org", provider="company", email_verified=False)
    assert signed_in_as(client) is None
    assert victim.identities == []


def test_github_private_email_uses_the_primary_verified_entry(client, fake_idp):
    emails = [
        {"email": "old@example.org", "primary": False, "verified": True, "visibility": None},
        {"email": "Octo@Example.org", "primary": True, "verified": True, "visibility": "private"},
        {"email": "spam@example.org", "primary": False, "verified": False, "visibility": None},
    ]
    fake_idp.sign_in(client, email="ignored@example.org", provider="github", github_emails=emails)
    [user] = users()
    assert user.email == "octo@example.org"
    assert user.nickname == "octo"


def test_github_primary_but_unverified_is_refused(client, fake_idp):
    emails = [
        {"email": "verified@example.org", "primary": False, "verified": True},
        {"email": "primary@example.org", "primary": True, "verified": False},
    ]
    fake_idp.sign_in(client, provider="github", github_emails=emails)
    assert users() == []
    assert "is not verified" in flashes(client)


def test_https_picture_is_kept_and_http_dropped(client, fake_idp):
    fake_idp.sign_in(client, email="a@example.org", picture="https://img.example.com/a.png")
    fake_idp.sign_in(client, email="b@example.org", picture="http://img.example.com/b.png")
    a, b = users()
    assert a.picture == "https://img.example.com/a.png"
    assert b.picture is None


@pytest.mark.parametrize("remember", [True, False])
def test_remember_me_sets_a_remember_cookie_only_when_checked(client, fake_idp, remember):
    fake_idp.sign_in(client, remember=remember)
    cookie = client.get_cookie("remember_token")
    assert (cookie is not None) is remember
    if remember:
        assert cookie.http_only and cookie.same_site == "Lax"


def test_remember_cookie_signs_in_a_new_browser_session(client, fake_idp):
    fake_idp.sign_in(client, remember=True)
    client.delete_cookie("session")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("next_url", ["/explore", "/u/ann?x=1", "/u/%C3%A9", "/settings#about"])
def test_same_site_next_is_followed(client, fake_idp, next_url):
    resp = fake_idp.sign_in(client, next=next_url)
    assert resp.headers["Location"] == next_url


OFFSITE_NEXT = [
    "https://evil.example.com/",
    "http://evil.example.com",
    "//evil.example.com",
    "///evil.example.com",
    "////evil.example.com",
    "/\\evil.example.com",
    "\\\\evil.example.com",
    "\\/evil.example.com",
    "/\t/evil.example.com",
    "\t//evil.example.com",
    "/\n/evil.example.com",
    " //evil.example.com",
    "\x08//evil.example.com",
    "https:evil.example.com",
    "javascript:alert(1)",
    "data:text/html,hi",
    "ftp://evil.example.com",
    "%2F%2Fevil.example.com",
    "/%2F/evil.example.com",
    "/%5Cevil.example.com",
    "evil.example.com",
    "//evil.example.com@localhost",
    "http:/evil.com",
]


@pytest.mark.parametrize("next_url", OFFSITE_NEXT)
def test_offsite_next_falls_back_to_the_timeline(client, fake_idp, next_url):
    resp = fake_idp.sign_in(client, next=next_url)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_two_tabs_keep_their_own_remember_me_and_next(client, fake_idp):
    first = fake_idp.start(client, "google", remember=True, next="/explore").headers["Location"]
    second = fake_idp.start(client, "company", remember=False, next="/settings").headers["Location"]
    resp = client.get(fake_idp.authorize(second, Person(email="ann@example.org")))
    assert resp.headers["Location"] == "/settings"
    assert client.get_cookie("remember_token") is None
    resp = client.get(fake_idp.authorize(first, Person(email="ann@example.org")))
    assert resp.headers["Location"] == "/explore"
    assert client.get_cookie("remember_token") is not None


FAILURES = [
    ("access_denied", "was cancelled"),
    ("token_500", "could not reach Google"),
    ("token_timeout", "did not answer in time"),
    ("token_html", "could not verify the answer from Google"),
    ("token_json_list", "could not verify the answer from Google"),
    ("token_error", "Google refused the sign-in (Code expired.)"),
    ("no_id_token", "could not verify"),
    ("bad_signature", "could not verify"),
    ("wrong_iss", "could not verify"),
    ("wrong_aud", "could not verify"),
    ("extra_aud", "could not verify"),
    ("wrong_azp", "could not verify"),
    ("wrong_nonce", "could not verify"),
    ("expired", "could not verify"),
    ("issued_in_future", "could not verify"),
    ("not_yet_valid", "could not verify"),
    ("alg_none", "could not verify"),
    ("alg_hs256", "could not verify"),
    ("key_in_header", "could not verify"),
    ("jwks_500", "could not reach Google"),
    ("userinfo_500", "could not reach Google"),
    ("userinfo_timeout", "did not answer in time"),
    ("userinfo_sub_mismatch", "could not verify"),
    ("wrong_iss_param", "could not verify"),
]


@pytest.mark.parametrize(("fault", "message"), FAILURES)
def test_each_failure_ends_on_the_login_page_with_a_message(client, fake_idp, fault, message):
    fake_idp.fail(fault)
    resp = fake_idp.sign_in(client, provider="google", next="/explore")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=/explore"
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)
    assert users() == []
    assert signed_in_as(client) is None


@pytest.mark.parametrize("fault", ["discovery_down", "discovery_wrong_issuer", "discovery_html"])
def test_bad_discovery_stops_before_the_user_leaves(client, fake_idp, fault):
    fake_idp.fail(fault)
    resp = fake_idp.start(client, "company", next="/explore")
    assert resp.headers["Location"] == "/login?next=/explore"
    assert "Company SSO" in flashes(client)


def test_discovery_that_is_not_a_json_object_is_refused(client, fake_idp):
    url = "https://sso.example.com/realms/main/.well-known/openid-configuration"
    fake_idp.rsps.replace(responses.GET, url, json=["not", "an", "object"])
    resp = fake_idp.start(client, "company", next="/explore")
    assert resp.headers["Location"] == "/login?next=/explore"
    assert "could not verify the answer from Company SSO" in flashes(client)


def test_the_next_attempt_succeeds_once_the_provider_recovers(client, fake_idp):
    fake_idp.fail("discovery_down")
    fake_idp.sign_in(client, provider="company")
    fake_idp.recover()
    resp = fake_idp.sign_in(client, provider="company")
    assert resp.headers["Location"] == "/"
    assert len(users()) == 1


UNFINISHED = "That sign-in did not finish: it was cancelled, had expired or was already used."


def sets_cookies(resp) -> list[str]:
    return resp.headers.getlist("Set-Cookie")


def test_a_replayed_callback_is_refused(client, fake_idp):
    location = fake_idp.start(client, "google").headers["Location"]
    callback = fake_idp.authorize(location)
    assert client.get(callback).headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    resp = client.get(callback)
    assert resp.headers["Location"] == "/login?notice=unfinished"
    assert "expired or was already used" in client.get(resp.headers["Location"]).text
    assert signed_in_as(client) is None


@pytest.mark.parametrize("query", ["?code=abc", "?code=abc&state=forged", "", "?state="])
def test_missing_or_forged_state_is_refused(client, fake_idp, query):
    fake_idp.start(client, "google")
    resp = client.get(f"/auth/google/callback{query}")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login?notice=unfinished"
    assert sets_cookies(resp) == []  # this browser's pending sign-in is left as it was
    assert "expired or was already used" in client.get(resp.headers["Location"]).text
    assert fake_idp.requests_to("accounts.google.com") == 1  # discovery only: no token call


def test_state_from_another_browser_is_refused(app, fake_idp):
    attacker, victim = app.test_client(), app.test_client()
    location = fake_idp.start(attacker, "google").headers["Location"]
    callback = fake_idp.authorize(location, Person(email="attacker@example.org"))
    resp = victim.get(callback)  # login CSRF: the attacker's code in the victim's browser
    assert resp.headers["Location"] == "/login?notice=unfinished"
    assert sets_cookies(resp) == []
    assert users() == []


SUSPENDED = "Your account was suspended. Call +1 555 0100 to restore it."


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("state", [None, "forged"])
def test_an_error_for_no_attempt_of_this_browser_shows_a_fixed_sentence(
    client, fake_idp, method, state
):
    fake_idp.start(client, "google")  # a real attempt, whose state the sender does not know
    params = {"error": "server_error", "error_description": SUSPENDED}
    if state:
        params["state"] = state
    if method == "GET":
        resp = client.get("/auth/google/callback", query_string=params)
    else:
        resp = client.post("/auth/google/callback", data=params)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login?notice=unfinished"
    assert sets_cookies(resp) == []
    page = client.get(resp.headers["Location"]).text
    assert UNFINISHED in page
    assert "suspended" not in page and "server_error" not in page


def test_a_cross_site_post_without_cookies_sets_no_cookie(app, client, fake_idp):
    fake_idp.sign_in(client)  # the victim, signed in without "Remember me"
    # An auto-submitting form on another site: SameSite=Lax keeps the cookies at home.
    stranger = app.test_client()
    resp = stranger.post(
        "/auth/google/callback", data={"error": "server_error", "error_description": SUSPENDED}
    )
    assert resp.status_code == 302 and sets_cookies(resp) == []
    assert signed_in_as(client) == "ann"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_error_for_this_browsers_attempt_shows_the_providers_text(client, fake_idp, method):
    location = fake_idp.start(client, "google", next="/explore").headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    params = {"state": state, "error": "server_error", "error_description": "Try later."}
    if method == "GET":
        resp = client.get("/auth/google/callback", query_string=params)
    else:
        resp = client.post("/auth/google/callback", data=params)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login?next=/explore"
    assert "Google refused the sign-in (Try later.)" in flashes(client)


def test_provider_error_text_is_escaped(client, fake_idp):
    location = fake_idp.start(client, "google").headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    client.get(
        "/auth/google/callback",
        query_string={"state": state, "error": "x", "error_description": "<script>alert(1)"},
    )
    html = flashes(client)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def promise_iss(fake_idp, provider: str = "google") -> str:
    """Make the provider's discovery promise RFC 9207 `iss`; return its issuer."""
    p = fake_idp.app.extensions["microblog.providers"][provider]
    document = requests.get(p.server_metadata_url, timeout=5).json()  # from the fake
    document["authorization_response_iss_parameter_supported"] = True
    fake_idp.rsps.replace(responses.GET, p.server_metadata_url, json=document)
    return p.issuer


def callback_params(callback: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}


def test_a_missing_iss_is_refused_when_discovery_promises_it(client, fake_idp):
    issuer = promise_iss(fake_idp)
    callback = fake_idp.authorize(fake_idp.start(client, "google").headers["Location"])
    resp = client.get(callback)  # the fake sends no iss
    assert resp.headers["Location"] == "/login"
    assert "could not verify the answer from Google" in flashes(client)
    assert users() == []
    callback = fake_idp.authorize(fake_idp.start(client, "google").headers["Location"])
    resp = client.get(f"{callback}&iss={issuer}")
    assert resp.headers["Location"] == "/"


def test_a_posted_answer_signs_in_from_its_form(client, fake_idp):
    callback = fake_idp.authorize(fake_idp.start(client, "google").headers["Location"])
    resp = client.post(urlsplit(callback).path, data=callback_params(callback))
    assert resp.headers["Location"] == "/"
    assert signed_in_as(client) == "ann"


def test_a_posted_iss_is_checked_even_with_a_good_one_in_the_query(client, fake_idp):
    issuer = promise_iss(fake_idp)
    callback = fake_idp.authorize(fake_idp.start(client, "google").headers["Location"])
    form = {**callback_params(callback), "iss": "https://evil.example.com"}
    resp = client.post(f"{urlsplit(callback).path}?iss={issuer}", data=form)
    assert resp.headers["Location"] == "/login"
    assert "could not verify the answer from Google" in flashes(client)
    assert users() == []


def test_a_posted_answer_uses_the_state_of_its_form_not_of_its_query(client, fake_idp):
    first = fake_idp.authorize(fake_idp.start(client, "google").headers["Location"])
    second = fake_idp.authorize(fake_idp.start(client, "google").headers["Location"])
    form = {**callback_params(second), "state": "forged"}
    resp = client.post(f"{urlsplit(first).path}?state={callback_params(first)['state']}", data=form)
    assert resp.headers["Location"] == "/login?notice=unfinished"
    assert users() == []


def test_unknown_provider_is_404(client):
    token = csrf_token(client)
    assert client.post("/login/nope", data={"csrf_token": token}).status_code == 404
    assert client.get("/auth/nope/callback?code=x&state=y").status_code == 404


def test_starting_a_sign_in_needs_the_csrf_token(client, fake_idp):
    resp = client.post("/login/google", data={"remember_me": "1"})
    assert resp.status_code == 400
    assert fake_idp.requests_to("accounts.google.com") == 0


def test_sign_out_needs_post_and_csrf(client, fake_idp):
    fake_idp.sign_in(client, remember=True)
    assert client.get("/logout").status_code == 200  # a confirmation page, still signed in
    assert client.post("/logout").status_code == 400
    assert signed_in_as(client) == "ann"
    resp = client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert resp.headers["Location"] == "/login"
    assert signed_in_as(client) is None
    assert client.get_cookie("remember_token") is None
    assert client.get("/settings").status_code == 302


def test_sign_out_invalidates_cookies_captured_before(app, client, fake_idp):
    fake_idp.sign_in(client, remember=True)
    stolen_session = client.get_cookie("session").value
    stolen_remember = client.get_cookie("remember_token").value
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    thief = app.test_client()
    thief.set_cookie("session", stolen_session)
    assert thief.get("/settings").status_code == 302
    thief = app.test_client()
    thief.set_cookie("remember_token", stolen_remember)
    assert thief.get("/settings").status_code == 302


def test_provider_calls_have_a_timeout(app):
    from microblog.identity.registry import get_client

    with app.test_request_context():
        assert get_client("google").client_kwargs["default_timeout"] == app.config["OAUTH_TIMEOUT"]


def test_discovery_and_keys_are_fetched_once_per_process(client, fake_idp):
    fake_idp.sign_in(client, email="a@example.org")
    first = fake_idp.requests_to("accounts.google.com")
    fake_idp.sign_in(client, email="b@example.org")
    assert first == 4  # discovery, keys, token, userinfo
    assert fake_idp.requests_to("accounts.google.com") - first == 2  # token, userinfo


def test_key_rotation_refetches_the_keys_once(client, fake_idp):
    fake_idp.sign_in(client, email="a@example.org")
    fake_idp.rotate_keys()
    resp = fake_idp.sign_in(client, email="b@example.org")
    assert resp.headers["Location"] == "/"
    assert len(users()) == 2


def test_linking_an_identity_of_another_account_changes_nothing(app, fake_idp):
    owner, other = app.test_client(), app.test_client()
    fake_idp.sign_in(owner, email="owner@example.org", provider="github", sub="gh-1")
    fake_idp.sign_in(other, email="other@example.org", provider="google")
    token = csrf_token(other, "/settings")
    location = other.post("/login/github", data={"csrf_token": token, "link": "1"}).location
    resp = other.get(fake_idp.authorize(location, Person(email="owner@example.org", sub="gh-1")))
    assert resp.headers["Location"] == "/settings"
    page = other.get("/settings").get_data(as_text=True)
    assert "belongs to another microblog account" in page
    owner_user, other_user = users()
    assert [i.provider for i in owner_user.identities] == ["github"]
    assert [i.provider for i in other_user.identities] == ["google"]
    assert signed_in_as(other) == other_user.nickname


@pytest.mark.parametrize("bug", [ValueError("naive datetime"), KeyError("user_id")])
def test_a_bug_in_our_sign_in_code_is_a_500_with_a_traceback(
    app, client, fake_idp, monkeypatch, caplog, bug
):
    from microblog.identity import accounts

    def broken_sign_in(*args, **kwargs):
        raise bug

    monkeypatch.setattr(accounts, "sign_in", broken_sign_in)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not a raise
    resp = fake_idp.sign_in(client, provider="google")
    assert resp.status_code == 500
    assert "Something went wrong" in resp.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.levelname == "ERROR" and record.exc_info[1] is bug
    assert "could not verify" not in flashes(client)
    assert signed_in_as(client) is None
