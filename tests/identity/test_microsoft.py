"""preset = "microsoft": tenants, the `{tenantid}` issuer template, and the xms_edov email rule."""

from __future__ import annotations

import textwrap
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from microblog.config import ConfigError
from microblog.extensions import db
from microblog.identity.providers import load_providers
from microblog.models import User
from microblog.testing import Person
from microblog.testing.variants import WORK_TENANT
from tests.helpers import base_config

TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"
CONSUMERS = "9188040d-6c67-4c5b-b112-36a304b66dad"
LOGIN = "https://login.microsoftonline.com"
PROVIDERS = f"""
[providers.microsoft]
preset = "microsoft"
client_id = "ms-id"
client_secret = "ms-secret"

[providers.work]
preset = "microsoft"
title = "Work account"
tenant = "organizations"
allowed_tenants = ["{TENANT_A}", "{WORK_TENANT}"]
client_id = "work-id"
client_secret = "work-secret"

[providers.contoso]
preset = "microsoft"
title = "Contoso"
tenant = "{TENANT_A}"
client_id = "contoso-id"
client_secret = "contoso-secret"

[providers.personal]
preset = "microsoft"
title = "Outlook.com"
tenant = "consumers"
client_id = "personal-id"
client_secret = "personal-secret"

[providers.trusting]
preset = "microsoft"
title = "Trusted tenant"
tenant = "{TENANT_B}"
trust_email = true
client_id = "trusting-id"
client_secret = "trusting-secret"
"""


@pytest.fixture
def app_config(database_url, tmp_path):
    path = tmp_path / "providers.toml"
    path.write_text(PROVIDERS)
    return base_config(database_url, MICROBLOG_PROVIDERS=str(path))


def emails() -> list[str]:
    return list(db.session.scalars(sa.select(User.email)))


def login_page(client) -> str:
    return client.get("/login").get_data(as_text=True)


def test_multi_tenant_discovery_names_a_template_and_is_accepted(app):
    p = app.extensions["microblog.providers"]["microsoft"]
    assert p.server_metadata_url == f"{LOGIN}/common/v2.0/.well-known/openid-configuration"
    assert p.accepted_issuers == (f"{LOGIN}/{{tenantid}}/v2.0",)


@pytest.mark.parametrize("tid", [TENANT_A, TENANT_B, CONSUMERS])
def test_common_takes_any_tenant_whose_token_names_its_own_issuer(client, fake_idp, tid):
    resp = fake_idp.sign_in(client, provider="microsoft", tid=tid, email="ann@contoso.com")
    assert resp.headers["Location"] == "/"
    assert emails() == ["ann@contoso.com"]


def test_the_email_is_unverified_without_xms_edov(client, fake_idp):
    resp = fake_idp.sign_in(client, provider="microsoft", email_verified=False)
    assert resp.headers["Location"].startswith("/login")
    assert "Microsoft says ann@example.org is not verified" in login_page(client)
    assert emails() == []


def test_an_email_verified_claim_is_not_microsofts_word(client, fake_idp):
    # Only xms_edov counts: an email_verified claim in the token (which Entra never sends,
    # and a tenant admin might add as a custom claim) is ignored.
    fake_idp.extra_claims["email_verified"] = True
    fake_idp.sign_in(client, provider="microsoft", email_verified=False)
    assert emails() == []


def test_trust_email_accepts_it_anyway(client, fake_idp):
    resp = fake_idp.sign_in(client, provider="trusting", email_verified=False)
    assert resp.headers["Location"] == "/"
    assert emails() == ["ann@example.org"]


ISSUER_FORGERIES = {
    "iss of another tenant": {"iss": f"{LOGIN}/{TENANT_B}/v2.0", "tid": TENANT_A},
    "the template itself": {"iss": f"{LOGIN}/{{tenantid}}/v2.0", "tid": TENANT_A},
    "no tid": {"iss": f"{LOGIN}/{TENANT_A}/v2.0", "tid": None},
    "tid not a GUID": {"iss": f"{LOGIN}/evil/v2.0", "tid": "evil"},
    "another host": {"iss": f"https://evil.example.com/{TENANT_A}/v2.0", "tid": TENANT_A},
}


@pytest.mark.parametrize("forgery", ISSUER_FORGERIES)
def test_a_token_whose_iss_is_not_its_own_tenants_is_refused(client, fake_idp, caplog, forgery):
    fake_idp.extra_claims.update(ISSUER_FORGERIES[forgery])
    resp = fake_idp.sign_in(client, provider="microsoft")
    assert resp.headers["Location"].startswith("/login")
    assert emails() == []
    assert "ID token iss" in caplog.text


@pytest.mark.parametrize(
    ("tid", "works"), [(TENANT_A, True), (WORK_TENANT, True), (TENANT_B, False), (CONSUMERS, False)]
)
def test_allowed_tenants_and_organizations_admit_only_those(client, fake_idp, tid, works):
    resp = fake_idp.sign_in(client, provider="work", tid=tid)
    assert (resp.headers["Location"] == "/") is works
    assert (emails() == ["ann@example.org"]) is works


def test_a_single_tenant_pins_its_issuer(client, fake_idp, app):
    assert app.extensions["microblog.providers"]["contoso"].accepted_issuers == (
        f"{LOGIN}/{TENANT_A}/v2.0",
    )
    assert fake_idp.sign_in(client, provider="contoso").headers["Location"] == "/"
    fake_idp.extra_claims.update({"iss": f"{LOGIN}/{TENANT_B}/v2.0", "tid": TENANT_B})
    other = app.test_client()
    assert (
        fake_idp.sign_in(other, provider="contoso", email="eve@example.org")
        .headers["Location"]
        .startswith("/login")
    )
    assert emails() == ["ann@example.org"]


def test_consumers_pins_the_personal_account_tenant(client, fake_idp, app):
    p = app.extensions["microblog.providers"]["personal"]
    assert p.accepted_issuers == (f"{LOGIN}/{CONSUMERS}/v2.0",)
    assert fake_idp.sign_in(client, provider="personal").headers["Location"] == "/"


def test_discovery_naming_a_concrete_issuer_for_common_is_refused(client, fake_idp):
    fake_idp.fail("discovery_wrong_issuer")
    resp = fake_idp.sign_in(client, provider="microsoft")
    assert resp.headers["Location"].startswith("/login")


def test_no_user_info_call_the_id_token_is_the_answer(client, fake_idp):
    fake_idp.sign_in(client, provider="microsoft", picture="https://graph.example.com/photo")
    assert not [c for c in fake_idp.rsps.calls if c.request.url.endswith("/userinfo")]
    [user] = db.session.scalars(sa.select(User))
    assert user.picture is None  # Graph's photo URL needs a token: never shown as an avatar


CONFIG_MISTAKES = [
    ('tenant = "contoso.onmicrosoft.com"', "tenant: 'contoso.onmicrosoft.com' is not common"),
    (f'tenant = "{TENANT_A}"\nallowed_tenants = ["{TENANT_B}"]', "allowed_tenants: only with"),
    ('allowed_tenants = ["contoso"]', "allowed_tenants: 'contoso' is not a tenant ID"),
    ("allowed_tenants = [1]", "allowed_tenants: must be a list of strings"),
]


@pytest.mark.parametrize(("lines", "problem"), CONFIG_MISTAKES)
def test_tenant_mistakes_stop_start_up_with_one_line(tmp_path, lines, problem):
    path = tmp_path / "providers.toml"
    path.write_text(
        '[providers.ms]\npreset = "microsoft"\nclient_id = "a"\nclient_secret = "b"\n'
        + lines
        + "\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_providers(path, {})
    assert str(exc.value).startswith(f"{path}: [providers.ms] {problem}")


def test_tenant_belongs_to_the_microsoft_preset_only(tmp_path):
    path = tmp_path / "providers.toml"
    path.write_text(
        textwrap.dedent("""
        [providers.sso]
        issuer = "https://sso.example.com"
        client_id = "a"
        client_secret = "b"
        tenant = "common"
        """)
    )
    with pytest.raises(ConfigError, match=r'\[providers.sso\] tenant: only for preset = "micro'):
        load_providers(path, {})


@pytest.mark.parametrize(
    ("iss", "works"),
    [
        (f"{LOGIN}/{TENANT_A}/v2.0", True),  # an allowed tenant's issuer
        (f"{LOGIN}/{TENANT_B}/v2.0", False),  # a tenant not in allowed_tenants
        (f"{LOGIN}/{{tenantid}}/v2.0", False),  # the template is no tenant's issuer
        ("https://evil.example.com/v2.0", False),
    ],
)
def test_an_rfc9207_iss_on_the_callback_is_checked_per_tenant(client, fake_idp, iss, works):
    location = fake_idp.start(client, "work").headers["Location"]
    callback = fake_idp.authorize(location, Person(tid=TENANT_A))
    resp = client.get(f"{callback}&{urlencode({'iss': iss})}")
    assert (resp.headers["Location"] == "/") is works
