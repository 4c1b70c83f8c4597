"""providers.toml: presets, ${VAR}, validation messages, and `flask providers`."""

from __future__ import annotations

import logging
import textwrap

import pytest

from microblog import create_app
from microblog.config import ConfigError
from microblog.identity.providers import GITHUB, OAUTH2, OIDC, load_providers
from tests.helpers import base_config

ENV = {"GOOGLE_ID": "gid", "GOOGLE_SECRET": "gsecret"}
CREDS = 'client_id = "a"\nclient_secret = "b"\n'
GOOGLE = 'preset = "google"\n' + CREDS


def load(tmp_path, text: str, environ: dict[str, str] | None = None):
    path = tmp_path / "providers.toml"
    path.write_text(textwrap.dedent(text))
    return load_providers(path, ENV if environ is None else environ)


def error(tmp_path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text, environ)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "providers.toml"))
    return message


def test_google_preset_fills_issuer_title_and_scope(tmp_path):
    [p] = load(
        tmp_path,
        """
        [providers.google]
        preset = "google"
        client_id = "${GOOGLE_ID}"
        client_secret = "${GOOGLE_SECRET}"
    """,
    )
    assert (p.kind, p.title, p.client_id, p.client_secret) == (OIDC, "Google", "gid", "gsecret")
    assert p.server_metadata_url == "https://accounts.google.com/.well-known/openid-configuration"
    assert p.scope == "openid email profile"
    assert set(p.accepted_issuers) == {"https://accounts.google.com", "accounts.google.com"}
    assert p.ready and not p.trust_email and p.link_by_email


def test_github_preset_and_enterprise_base_url(tmp_path):
    dotcom, enterprise = load(
        tmp_path,
        """
        [providers.github]
        preset = "github"
        client_id = "a"
        client_secret = "b"
        [providers.ghe]
        preset = "github"
        title = "GitHub Enterprise"
        base_url = "https://github.example.com"
        client_id = "a"
        client_secret = "b"
    """,
    )
    assert dotcom.kind == GITHUB
    assert dotcom.authorize_url == "https://github.com/login/oauth/authorize"
    assert dotcom.api_base_url == "https://api.github.com/"
    assert enterprise.token_url == "https://github.example.com/login/oauth/access_token"
    assert enterprise.api_base_url == "https://github.example.com/api/v3/"


def test_preset_values_can_be_overridden(tmp_path):
    [p] = load(
        tmp_path,
        """
        [providers.gitlab]
        preset = "gitlab"
        title = "Our GitLab"
        issuer = "https://gitlab.example.com"
        client_id = "a"
        client_secret = "b"
    """,
    )
    assert p.title == "Our GitLab"
    assert p.server_metadata_url == "https://gitlab.example.com/.well-known/openid-configuration"
    assert p.accepted_issuers == ("https://gitlab.example.com",)


def test_generic_oidc_and_plain_oauth2(tmp_path):
    sso, plain = load(
        tmp_path,
        """
        [providers.company]
        title = "Company SSO"
        server_metadata_url = "https://sso.example.com/realms/main/.well-known/openid-configuration"
        client_id = "a"
        client_secret = "b"
        trust_email = true
        [providers.plain]
        authorize_url = "https://p.example.com/authorize"
        token_url = "https://p.example.com/token"
        userinfo_url = "https://p.example.com/me"
        client_id = "a"
        client_secret = "b"
        link_by_email = false
    """,
    )
    assert sso.kind == OIDC and sso.issuer == "https://sso.example.com/realms/main"
    assert sso.trust_email
    assert plain.kind == OAUTH2 and plain.title == "plain" and not plain.link_by_email


def test_unset_variable_turns_the_provider_off_with_a_reason(tmp_path):
    [p] = load(
        tmp_path,
        """
        [providers.google]
        preset = "google"
        client_id = "${GOOGLE_ID}"
        client_secret = "${MISSING_SECRET}"
    """,
    )
    assert not p.ready
    assert p.disabled_reason == "environment variable is not set: MISSING_SECRET"


def test_enabled_false_turns_the_provider_off(tmp_path):
    [p] = load(
        tmp_path,
        """
        [providers.google]
        preset = "google"
        client_id = "a"
        client_secret = "b"
        enabled = false
    """,
    )
    assert not p.ready and "enabled = false" in p.disabled_reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[providers.x]\n" + GOOGLE + 'colour = "red"',
            "[providers.x] colour: unknown key",
        ),
        (
            '[providers.x]\npreset = "google"\nclient_id = 42\nclient_secret = "b"',
            "[providers.x] client_id: must be a str",
        ),
        (
            "[providers.x]\n" + GOOGLE + 'enabled = "no"',
            "[providers.x] enabled: must be a bool",
        ),
        ('[providers.x]\npreset = "facebook"', "[providers.x] preset: 'facebook' is not one of"),
        (
            '[providers.x]\nissuer = "not a url"\n' + CREDS,
            "[providers.x] issuer: 'not a url' is not an http(s) URL",
        ),
        (
            '[providers.x]\nissuer = "http://sso.example.com"\n' + CREDS,
            "[providers.x] issuer: 'http://sso.example.com' uses plain http",
        ),
        (
            '[providers.x]\nissuer = "https://sso.example.com:99999"\n' + CREDS,
            "[providers.x] issuer: 'https://sso.example.com:99999' is not a valid URL",
        ),
        (
            "[providers.X]\n" + GOOGLE,
            "[providers.X]: the name may hold only lowercase letters, digits and '-'",
        ),
        (
            '[providers.x]\ntitle = "X"\n' + CREDS,
            "[providers.x] authorize_url: missing",
        ),
        (
            '[providers.x]\nauthorize_url = "https://a.example/a"\ntoken_url = "https://a.example/t"\n'
            'client_id = "a"\nclient_secret = "b"',
            "[providers.x] userinfo_url: missing",
        ),
        (
            '[providers.x]\npreset = "google"\nclient_secret = "b"',
            "[providers.x] client_id: missing",
        ),
        (
            '[providers.x]\npreset = "google"\nbase_url = "https://g.example"\nclient_id = "a"\n'
            'client_secret = "b"',
            "[providers.x] base_url: only the github preset",
        ),
        (
            '[providers.x]\npreset = "google"\nscope = "email"\n' + CREDS,
            "[providers.x] scope: an OpenID Connect provider needs 'openid'",
        ),
        (
            '[providers.x]\npreset = "google"\nalgorithms = ["HS256"]\nclient_id = "a"\n'
            'client_secret = "b"',
            "[providers.x] algorithms: 'HS256' is not allowed",
        ),
        (
            '[providers.x]\npreset = "google"\nalgorithms = ["none"]\nclient_id = "a"\n'
            'client_secret = "b"',
            "[providers.x] algorithms: 'none' is not allowed",
        ),
        (
            '[providers.x]\nserver_metadata_url = "https://a.example/meta.json"\nclient_id = "a"\n'
            'client_secret = "b"',
            "[providers.x] issuer: missing",
        ),
        (
            "[providers.a]\n"
            + GOOGLE
            + '[providers.b]\npreset = "gitlab"\ntitle = "GOOGLE"\n'
            + CREDS,
            "[providers.b] title: 'GOOGLE' is already the title of [providers.a]",
        ),
        ('[provider.google]\npreset = "google"', "unknown top-level key 'provider'"),
        ('[providers.x\npreset = "google"', "not valid TOML"),
        ('[providers]\nx = "google"', "[providers.x]: must be a table"),
    ],
)
def test_each_mistake_stops_start_up_with_one_clear_line(tmp_path, text, expected):
    assert expected in error(tmp_path, text)


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="file not found .*MICROBLOG_PROVIDERS"):
        load_providers(tmp_path / "nope.toml", {})


def test_loopback_http_is_allowed_for_local_providers(tmp_path):
    [p] = load(
        tmp_path,
        """
        [providers.local]
        issuer = "http://127.0.0.1:8080/realms/dev"
        client_id = "a"
        client_secret = "b"
    """,
    )
    assert p.ready and p.issuer == "http://127.0.0.1:8080/realms/dev"


def test_config_error_is_a_clean_exit(tmp_path):
    path = tmp_path / "providers.toml"
    path.write_text('[providers.x]\npreset = "nope"\n')
    with pytest.raises(SystemExit) as exc:
        create_app(base_config("sqlite://", MICROBLOG_PROVIDERS=str(path)))
    assert "[providers.x] preset" in str(exc.value.code)


def test_start_up_warns_once_per_provider_that_is_off(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("NOPE_ID", raising=False)
    path = tmp_path / "providers.toml"
    path.write_text(
        '[providers.google]\npreset = "google"\nclient_id = "${NOPE_ID}"\n'
        'client_secret = "${NOPE_ID}"\n'
    )
    with caplog.at_level(logging.WARNING, logger="microblog.identity.registry"):
        app = create_app(base_config("sqlite://", MICROBLOG_PROVIDERS=str(path)))
    assert [r.getMessage() for r in caplog.records] == [
        "provider google is off: environment variable is not set: NOPE_ID"
    ]
    html = app.test_client().get("/login").get_data(as_text=True)
    assert "Sign in with Google" not in html
    assert "No sign-in provider is ready" in html


def test_shipped_providers_toml_has_google_github_and_dev():
    from pathlib import Path

    names = [p.name for p in load_providers(Path(__file__).parents[2] / "providers.toml", {})]
    assert names == ["google", "github", "dev"]


def test_shipped_file_refuses_a_production_start():
    from pathlib import Path

    shipped = str(Path(__file__).parents[2] / "providers.toml")
    with pytest.raises(ConfigError, match="lets anyone sign in as anyone"):
        create_app(base_config("sqlite://", MICROBLOG_PROVIDERS=shipped))


def test_flask_providers_lists_status_and_callback_url(runner):
    result = runner.invoke(args=["providers", "--base-url", "https://blog.example.com"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    google = next(line for line in lines if line.startswith("google"))
    assert "Google" in google and "oidc" in google and "ready" in google
    assert "https://blog.example.com/auth/google/callback" in google
    assert any(line.startswith("plain") and "oauth2" in line for line in lines)
