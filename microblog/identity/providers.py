"""providers.toml -> validated Provider objects: pure parsing, no Flask, no Authlib."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError
from .clientauth import AUTH_METHODS, PRIVATE_KEY_JWT, signing_key
from .kinds import GitHub, OAuth2, OpenIDConnect, kind_for
from .presets import PRESETS
from .urls import url_problem
from .variants import variant_for

NAME_RE = re.compile(r"^[a-z0-9-]+$")
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The kinds' names, as Provider.kind holds them (kinds.KINDS maps them to their objects).
OIDC, GITHUB, OAUTH2 = OpenIDConnect.name, GitHub.name, OAuth2.name
# Asymmetric algorithms only: "none" and HMAC (keyed with our own client secret) never verify.
SAFE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "ES256", "PS256")
SIGN_OUT_MODES = ("ask", "always", "never")

STRING_KEYS = frozenset(
    {
        "preset",
        "title",
        "issuer",
        "server_metadata_url",
        "authorize_url",
        "token_url",
        "userinfo_url",
        "client_id",
        "client_secret",
        "scope",
        "base_url",
        "token_endpoint_auth_method",
        "private_key",
        "tenant",
        "team_id",
        "key_id",
        "sign_out_at_provider",
    }
)
BOOL_KEYS = frozenset({"enabled", "trust_email", "link_by_email"})
LIST_KEYS = frozenset({"algorithms", "allowed_tenants"})
# Keys that only one preset understands.
PRESET_KEYS = {
    "tenant": "microsoft",
    "allowed_tenants": "microsoft",
    "team_id": "apple",
    "key_id": "apple",
}
URL_KEYS = (
    "issuer",
    "server_metadata_url",
    "authorize_url",
    "token_url",
    "userinfo_url",
    "base_url",
)


@dataclass(frozen=True)
class Provider:
    """One identity provider, as the operator configured it."""

    name: str
    title: str
    kind: str  # OIDC, GITHUB or OAUTH2: a key of kinds.KINDS
    client_id: str
    client_secret: str
    scope: str
    preset: str | None = None
    issuer: str | None = None
    server_metadata_url: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    api_base_url: str | None = None
    trust_email: bool = False
    link_by_email: bool = True
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    accepted_issuers: tuple[str, ...] = ()
    # None: the one secret method discovery lists, else client_secret_basic (clientauth).
    token_endpoint_auth_method: str | None = None
    private_key: str = field(default="", repr=False)  # PEM, for private_key_jwt
    tenant: str | None = None  # microsoft: common, organizations, consumers or a tenant ID
    allowed_tenants: tuple[str, ...] = ()  # microsoft, multi-tenant: only these tenants
    team_id: str | None = None  # apple: the team and key that sign our client secret
    key_id: str | None = None
    # RP-Initiated Logout: offer it on the sign-out page ("ask"), always do it, or never.
    sign_out_at_provider: str = "ask"
    disabled_reason: str | None = field(default=None, compare=False)

    @property
    def ready(self) -> bool:
        return self.disabled_reason is None


def load_providers(path: str | Path, environ: Mapping[str, str] | None = None) -> list[Provider]:
    """Read and validate providers.toml; raise ConfigError naming file, provider and key."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (set MICROBLOG_PROVIDERS to its path)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for key in data:
        if key != "providers":
            raise ConfigError(f"{path}: unknown top-level key {key!r} (expected [providers.NAME])")
    tables = data.get("providers", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: 'providers' must be a table of [providers.NAME] tables")
    providers = [_parse(path, name, table, environ) for name, table in tables.items()]
    seen: dict[str, str] = {}
    for p in providers:
        other = seen.setdefault(p.title.casefold(), p.name)
        if other != p.name:
            raise ConfigError(
                f"{path}: [providers.{p.name}] title: {p.title!r} is already the title of "
                f"[providers.{other}]; each button needs its own title"
            )
    return providers


def _parse(path: Path, name: str, table: Any, environ: Mapping[str, str]) -> Provider:
    where = f"{path}: [providers.{name}]"
    if not NAME_RE.match(name):
        raise ConfigError(f"{where}: the name may hold only lowercase letters, digits and '-'")
    _check_types(where, table)
    preset, values = _with_preset(where, table)
    missing_vars = _substitute_all(values, environ)
    _check_urls(where, preset, values)
    algorithms = _algorithms(where, values)
    kind = variant_for(preset) or kind_for(where, preset, values)
    endpoints = kind.endpoints(where, preset, values)
    scope = values.get("scope", kind.default_scope)
    if problem := kind.scope_problem(scope):
        raise ConfigError(f"{where} scope: {problem}")
    _check_credentials(where, preset, values, missing_vars)
    return Provider(
        name=name,
        title=values.get("title") or name,
        kind=kind.name,
        preset=preset,
        client_id=values.get("client_id", ""),
        client_secret=values.get("client_secret", ""),
        scope=scope,
        trust_email=values.get("trust_email", False),
        link_by_email=values.get("link_by_email", True),
        algorithms=algorithms,
        token_endpoint_auth_method=values.get("token_endpoint_auth_method"),
        private_key=values.get("private_key", ""),
        sign_out_at_provider=_sign_out_mode(where, values),
        disabled_reason=_disabled_reason(values, missing_vars),
        **endpoints,
    )


def _check_types(where: str, table: Any) -> None:
    """Refuse a table that is not one, an unknown key, or a value of the wrong type."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    for key, value in table.items():
        if key in STRING_KEYS:
            expected: type = str
        elif key in BOOL_KEYS:
            expected = bool
        elif key in LIST_KEYS:
            expected = list
        else:
            raise ConfigError(f"{where} {key}: unknown key")
        if not isinstance(value, expected):
            raise ConfigError(f"{where} {key}: must be a {expected.__name__}, not {value!r}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where} {key}: must be a list of strings, not {value!r}")
        if key in PRESET_KEYS and table.get("preset") != PRESET_KEYS[key]:
            raise ConfigError(f'{where} {key}: only for preset = "{PRESET_KEYS[key]}"')


def _with_preset(where: str, table: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Return the preset's name and its values overridden by the table's own."""
    preset = table.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"{where} preset: {preset!r} is not one of {', '.join(PRESETS)}")
    return preset, {**PRESETS.get(preset or "", {}), **table}


def _substitute_all(values: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    """Replace each ${VAR} in the string values; return the variables that are not set."""
    missing: list[str] = []
    for key in [k for k in values if k in STRING_KEYS]:
        values[key] = _substitute(values[key], environ, missing)
    return missing


def _check_urls(where: str, preset: str | None, values: dict[str, Any]) -> None:
    """Refuse an endpoint that is not https (or http on a loopback host)."""
    for key in URL_KEYS:
        # The development provider's issuer is filled in at start-up (registry._dev_provider).
        if key in values and not (key == "issuer" and preset == "dev"):
            problem = url_problem(values[key])
            if problem:
                raise ConfigError(f"{where} {key}: {problem}")


def _algorithms(where: str, values: dict[str, Any]) -> tuple[str, ...]:
    """Return the ID token algorithms to accept: asymmetric ones only, at least one."""
    algorithms = tuple(values.get("algorithms", DEFAULT_ALGORITHMS))
    for alg in algorithms:
        if alg not in SAFE_ALGORITHMS:
            raise ConfigError(
                f"{where} algorithms: {alg!r} is not allowed; use some of {sorted(SAFE_ALGORITHMS)}"
            )
    if not algorithms:
        raise ConfigError(f"{where} algorithms: list at least one algorithm")
    return algorithms


def _check_credentials(
    where: str, preset: str | None, values: dict[str, Any], missing_vars: list[str]
) -> None:
    """Require client credentials, unless a missing variable already turns the provider off."""
    method = values.get("token_endpoint_auth_method")
    if method is not None and method not in AUTH_METHODS:
        raise ConfigError(
            f"{where} token_endpoint_auth_method: {method!r} is not one of "
            f"{', '.join(AUTH_METHODS)}"
        )
    apple = preset == "apple"  # its key signs our client secret (apple.py checked it)
    if "private_key" in values and method != PRIVATE_KEY_JWT and not apple:
        raise ConfigError(
            f'{where} private_key: used only with token_endpoint_auth_method = "{PRIVATE_KEY_JWT}"'
        )
    if preset == "dev" or missing_vars:
        return
    private = method == PRIVATE_KEY_JWT
    needed = () if apple else ("private_key",) if private else ("client_secret",)
    for key in ("client_id", *needed):
        if key not in values:
            raise ConfigError(
                f'{where} {key}: missing (use "${{VAR}}" to read it from the environment)'
            )
    if private:
        signing_key(where, values["private_key"])  # a bad key stops start-up, not a sign-in


def _sign_out_mode(where: str, values: dict[str, Any]) -> str:
    """Return sign_out_at_provider: "ask" (the default), "always" or "never"."""
    mode: str = values.get("sign_out_at_provider", "ask")
    if mode not in SIGN_OUT_MODES:
        raise ConfigError(
            f"{where} sign_out_at_provider: {mode!r} is not one of {', '.join(SIGN_OUT_MODES)}"
        )
    return mode


def _disabled_reason(values: dict[str, Any], missing_vars: list[str]) -> str | None:
    """Say why the provider is off, or return None if it is ready."""
    if not values.get("enabled", True):
        return "disabled in providers.toml (enabled = false)"
    if missing_vars:
        plural = "s are" if len(missing_vars) > 1 else " is"
        return f"environment variable{plural} not set: {', '.join(missing_vars)}"
    return None


def _substitute(value: str, environ: Mapping[str, str], missing: list[str]) -> str:
    def replace_var(match: re.Match[str]) -> str:
        name = match.group(1)
        if not environ.get(name):
            if name not in missing:
                missing.append(name)
            return ""
        return environ[name]

    return VAR_RE.sub(replace_var, value)
