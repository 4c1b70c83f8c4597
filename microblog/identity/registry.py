"""One Authlib registry per app: the configured providers, and their clients."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import replace

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from ..config import ConfigError
from . import clientauth
from .client import ProviderClient
from .http import egress_for
from .providers import Provider, load_providers
from .variants import kind_of

log = logging.getLogger(__name__)
DEV_ONLY = "development only (MICROBLOG_ENV=development)"


def init_app(app: Flask) -> None:
    """Load providers.toml and register each ready provider in this app's own Authlib registry."""
    providers = load_providers(app.config["MICROBLOG_PROVIDERS"])
    development = app.config["MICROBLOG_ENV"] == "development"
    for i, p in enumerate(providers):
        if p.preset == "dev" and p.ready:
            if development:
                providers[i] = _dev_provider(app, p)
            elif app.config["SERVES_REQUESTS"]:
                raise ConfigError(
                    f"{app.config['MICROBLOG_PROVIDERS']}: [providers.{p.name}] preset: the "
                    "development provider lets anyone sign in as anyone, so it only runs with "
                    "MICROBLOG_ENV=development (as `make run` sets); remove it or set "
                    "enabled = false"
                )
            else:  # `flask db upgrade`, `flask providers`: nobody can sign in, so say it is off
                providers[i] = replace(p, disabled_reason=DEV_ONLY)
        elif not p.ready:
            log.warning("provider %s is off: %s", p.name, p.disabled_reason)

    # One registry per app: Authlib caches clients on it (see docs/ARCHITECTURE.md).
    oauth = OAuth(app)
    client_kwargs = {
        "code_challenge_method": "S256",
        "default_timeout": app.config["OAUTH_TIMEOUT"],
    }
    private = app.config["PRIVATE_PROVIDER_HOSTS"]  # where a provider may have a private address
    for p in providers:
        if p.ready:
            auth = clientauth.registration(p)
            oauth.register(
                p.name,
                client_id=p.client_id,
                client_secret=p.client_secret,
                **kind_of(p).registration(p),
                client_kwargs={
                    **client_kwargs,
                    "scope": p.scope,
                    "egress": egress_for(p, private),
                    **auth["client_kwargs"],
                },
                client_auth_methods=auth["client_auth_methods"],
                client_cls=ProviderClient,
            )
            oauth.create_client(p.name).provider = p
    app.extensions["microblog.providers"] = {p.name: p for p in providers}


def _dev_provider(app: Flask, p: Provider) -> Provider:
    """Point the dev preset at the built-in provider, with credentials derived from SECRET_KEY."""
    issuer = (p.issuer or app.config["DEV_IDP_ISSUER"]).rstrip("/")
    return replace(
        p,
        issuer=issuer,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        accepted_issuers=(issuer,),
        client_id=p.client_id or "microblog-dev",
        client_secret=p.client_secret or dev_client_secret(app),
    )


def dev_client_secret(app: Flask) -> str:
    return hmac.new(
        app.config["SECRET_KEY"].encode(), b"dev-idp-client", hashlib.sha256
    ).hexdigest()


def all_providers() -> list[Provider]:
    """Every configured provider, ready or not, in file order."""
    return list(current_app.extensions["microblog.providers"].values())


def get_provider(name: str) -> Provider | None:
    """Return the ready provider called name, or None."""
    p = current_app.extensions["microblog.providers"].get(name)
    return p if p is not None and p.ready else None


def get_client(name: str) -> ProviderClient:
    """Return the Authlib client registered for a ready provider."""
    oauth = current_app.extensions["authlib.integrations.flask_client"]
    client: ProviderClient = oauth.create_client(name)
    return client


def provider_title(name: str) -> str:
    """The title of the provider called name, or the name if it is no longer configured."""
    p = current_app.extensions["microblog.providers"].get(name)
    return p.title if p is not None else name
