"""Every fault in FAULTS breaks the step of the flow it names, for every kind it applies to."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from microblog.testing import FAULTS

OIDC = ("google", "company")
EVERY_KIND = ("google", "company", "github", "plain")

# fault: (the providers it applies to, the last provider endpoint the app reaches)
#   "start": discovery fails, so the browser never leaves for the provider;
#   "callback": the answer on the callback is bad, so no token is asked for;
#   "token": the token answer (or its ID token) is bad, so no user info is asked for;
#   "jwks": the keys cannot be fetched; "userinfo": user info is bad.
STOPS_AT = {
    "access_denied": (EVERY_KIND, "callback"),
    "wrong_iss_param": (EVERY_KIND, "callback"),
    "discovery_down": (OIDC, "start"),
    "discovery_wrong_issuer": (OIDC, "start"),
    "discovery_html": (OIDC, "start"),
    "token_500": (EVERY_KIND, "token"),
    "token_timeout": (EVERY_KIND, "token"),
    "token_html": (EVERY_KIND, "token"),
    "token_json_list": (EVERY_KIND, "token"),
    "token_error": (EVERY_KIND, "token"),
    "no_id_token": (OIDC, "token"),
    "bad_signature": (OIDC, "token"),
    "wrong_iss": (OIDC, "token"),
    "wrong_aud": (OIDC, "token"),
    "extra_aud": (OIDC, "token"),
    "wrong_azp": (OIDC, "token"),
    "wrong_nonce": (OIDC, "token"),
    "expired": (OIDC, "token"),
    "issued_in_future": (OIDC, "token"),
    "not_yet_valid": (OIDC, "token"),
    "alg_none": (OIDC, "token"),
    "alg_hs256": (OIDC, "token"),
    "key_in_header": (OIDC, "token"),
    "jwks_500": (OIDC, "jwks"),
    "userinfo_500": (OIDC, "userinfo"),
    "userinfo_timeout": (OIDC, "userinfo"),
    "userinfo_sub_mismatch": (OIDC, "userinfo"),
    # Google documents two spellings of its issuer: only another provider is refused.
    "google_short_iss": (("company",), "token"),
}
CASES = [(fault, p) for fault, (providers, _) in STOPS_AT.items() for p in providers]
# The provider endpoints, by what their URL ends with (see providers.test.toml).
ENDPOINTS = {
    "/.well-known/openid-configuration": "discovery",
    "/token": "token",
    "/access_token": "token",
    "/jwks": "jwks",
    "/userinfo": "userinfo",
    "/api/me": "userinfo",
    "/user": "userinfo",
    "/user/emails": "userinfo",
}


def endpoints_reached(fake_idp) -> set[str]:
    paths = (urlsplit(call.request.url).path for call in fake_idp.rsps.calls)
    return {name for path in paths for end, name in ENDPOINTS.items() if path.endswith(end)}


def test_the_table_covers_every_fault():
    assert set(STOPS_AT) == FAULTS


@pytest.mark.parametrize(("fault", "provider"), CASES)
def test_each_fault_stops_the_sign_in_where_it_says(client, fake_idp, fault, provider):
    stage = STOPS_AT[fault][1]
    fake_idp.fail(fault)
    resp = fake_idp.sign_in(client, provider=provider)
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/login"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'class="flash flash-error"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert urlsplit(client.get("/settings").headers["Location"]).path == "/login"  # not signed in
    reached = endpoints_reached(fake_idp)
    if stage == "start":  # the app itself answered the start: the browser stayed here
        assert resp.request.path == f"/login/{provider}"
        assert reached == {"discovery"}
    else:
        assert resp.request.path == f"/auth/{provider}/callback"
        assert ("token" in reached) == (stage != "callback")
        assert ("userinfo" in reached) == (stage == "userinfo")
    if stage == "jwks":
        assert "jwks" in reached


@pytest.mark.parametrize("provider", EVERY_KIND)
def test_without_faults_every_kind_signs_in(client, fake_idp, provider):
    assert fake_idp.sign_in(client, provider=provider).headers["Location"] == "/"


def test_google_short_iss_is_googles_other_spelling(client, fake_idp):
    fake_idp.fail("google_short_iss")
    assert fake_idp.sign_in(client, provider="google").headers["Location"] == "/"


def test_an_unknown_fault_is_refused_with_the_choices(fake_idp):
    with pytest.raises(AssertionError, match="unknown fault.*token_500"):
        fake_idp.fail("tokne_500")


def test_recover_ends_every_fault(client, fake_idp):
    fake_idp.fail("token_500", "jwks_500")
    assert fake_idp.sign_in(client).headers["Location"].startswith("/login")
    fake_idp.recover()
    assert fake_idp.faults == set()
    assert fake_idp.sign_in(client).headers["Location"] == "/"
