"""Signing in through oidc-provider-mock, a provider we did not write, over real HTTP."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from microblog.extensions import db
from microblog.identity.models import Identity
from microblog.models import User
from tests import live

CONCURRENT_SIGN_INS = 20
pytestmark = live.MOCK_WARNINGS


def users(app) -> list[User]:
    with app.app_context():
        found = db.session.scalars(sa.select(User).order_by(User.id)).all()
        db.session.expunge_all()
        return list(found)


def identity_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Identity))


def test_provider_signs_with_an_algorithm_we_accept(idp, site):
    meta = requests.get(f"{idp.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == idp.issuer
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    provider = site.extensions["microblog.providers"][live.MOCK_PROVIDER]
    assert "RS256" in provider.algorithms


def test_first_sign_in_creates_the_user_and_the_next_finds_it(idp, site, visitor):
    sub = idp.new_person(email="Ann.Lee@Example.org", name="Ann Lee")
    page = visitor.sign_in(sub)
    assert live.statuses(page) == [302, 200]  # the callback, then home
    assert visitor.path(page) == "/"
    assert 'href="/u/ann_lee"' in page.text  # signed in: the nav links to the profile
    [user] = users(site)
    assert (user.email, user.nickname) == ("ann.lee@example.org", "ann_lee")
    with site.app_context():
        [identity] = db.session.scalars(sa.select(Identity)).all()
        assert (identity.provider, identity.subject) == (live.MOCK_PROVIDER, sub)

    visitor.http.cookies.clear()
    again = visitor.sign_in(sub)
    assert visitor.path(again) == "/"
    assert [u.id for u in users(site)] == [user.id]
    assert identity_count(site) == 1


def test_authorization_request_carries_state_nonce_and_pkce(idp, visitor):
    page = visitor.start()
    assert page.url.startswith(f"{idp.issuer}/oauth2/authorize?")
    for name in ("state", "nonce", "code_challenge"):
        assert live.query_param(page.url, name), name
    assert live.query_param(page.url, "code_challenge_method") == "S256"
    assert live.query_param(page.url, "client_id") == live.MOCK_CLIENT_ID
    assert live.query_param(page.url, "redirect_uri") == f"{visitor.site_url}/auth/mock/callback"
    assert set(live.query_param(page.url, "scope").split()) == {"openid", "email", "profile"}


def test_page_that_needs_sign_in_comes_back_after_it(idp, visitor):
    login = visitor.get("/settings")
    assert visitor.path(login) == "/login"
    provider_page = visitor.start(remember=True, login_page=login)  # carries next=/settings
    page = visitor.finish(visitor.consent(provider_page, idp.new_person()))
    assert visitor.path(page) == "/settings"
    assert "remember_token" in visitor.http.cookies


def test_without_remember_me_no_remember_cookie(idp, visitor):
    page = visitor.sign_in(idp.new_person())
    assert visitor.path(page) == "/"
    assert "remember_token" not in visitor.http.cookies


def test_unverified_email_is_refused(idp, site, visitor):
    page = visitor.sign_in(idp.new_person(verified=False))
    assert visitor.path(page) == "/login"
    assert "is not verified" in page.text
    assert users(site) == []


def test_deny_at_the_provider_returns_to_login(idp, site, visitor):
    page = visitor.deny(visitor.start())
    assert visitor.path(page) == "/login"
    assert "was cancelled" in page.text
    assert users(site) == []


def test_replayed_callback_is_refused(idp, site, visitor):
    callback = visitor.consent(visitor.start(), idp.new_person())
    assert visitor.path(visitor.finish(callback)) == "/"
    token_requests = idp.hits["/oauth2/token"]
    replay = visitor.finish(callback)  # the same state and code again
    assert "expired or was already used" in replay.text
    with live.Visitor(visitor.site_url) as stranger:  # a browser that never started it
        page = stranger.finish(callback)
        assert stranger.path(page) == "/login"
        assert "expired or was already used" in page.text
    assert idp.hits["/oauth2/token"] == token_requests  # refused before redeeming the code
    assert len(users(site)) == 1


def test_sign_out_ends_the_session(idp, visitor):
    home = visitor.sign_in(idp.new_person())
    confirm = visitor.get("/logout")
    assert confirm.status_code == 200 and "Sign out?" in confirm.text
    out = visitor.post_form("/logout", home)
    assert visitor.path(out) == "/login" and "You have signed out." in out.text
    assert visitor.path(visitor.get("/settings")) == "/login"


def test_discovery_and_keys_are_fetched_once_per_app(idp, visitor):
    discovery, keys = idp.discovery_hits, idp.jwks_hits
    for _ in range(3):
        visitor.http.cookies.clear()
        assert visitor.path(visitor.sign_in(idp.new_person())) == "/"
    assert (idp.discovery_hits - discovery, idp.jwks_hits - keys) == (1, 1)


# --- Many first sign-ins at once, each in its own browser, against the threaded server. ---


def sign_in_together(site_url: str, subs: list[str]) -> list[requests.Response]:
    """Run one browser per subject up to the provider's answer, then all callbacks at once."""
    barrier = threading.Barrier(len(subs), timeout=60)

    def one(sub: str) -> requests.Response:
        with live.Visitor(site_url) as visitor:
            callback = visitor.consent(visitor.start(), sub)
            barrier.wait()
            return visitor.finish(callback)

    with ThreadPoolExecutor(len(subs)) as pool:
        return list(pool.map(one, subs))


@pytest.mark.parametrize("same_subject", [True, False], ids=["same-subject", "other-subjects"])
def test_simultaneous_first_sign_ins_with_one_email_make_one_user(idp, server, site, same_subject):
    email = f"dup-{uuid.uuid4().hex[:8]}@example.org"
    subs = [idp.new_person(email=email) for _ in range(1 if same_subject else CONCURRENT_SIGN_INS)]
    pages = sign_in_together(server.url, (subs * CONCURRENT_SIGN_INS)[:CONCURRENT_SIGN_INS])
    for page in pages:
        assert all(status < 500 for status in live.statuses(page)), live.statuses(page)
        assert urlsplit(page.url).path == "/", page.text[:500]
    [user] = users(site)
    assert user.email == email
    assert identity_count(site) == len(subs)


def test_simultaneous_first_sign_ins_with_one_nickname_get_distinct_ones(idp, server, site):
    subs = [idp.new_person(email=f"sam@host{i}.example.org") for i in range(CONCURRENT_SIGN_INS)]
    pages = sign_in_together(server.url, subs)
    for page in pages:
        assert all(status < 500 for status in live.statuses(page)), live.statuses(page)
        assert urlsplit(page.url).path == "/", page.text[:500]
    nicknames = {u.nickname for u in users(site)}
    assert len(nicknames) == CONCURRENT_SIGN_INS
    assert "sam" in nicknames and all(n.startswith("sam") for n in nicknames)
