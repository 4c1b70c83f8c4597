"""The presets of providers.toml: the values a `preset = "..."` line fills in."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "google": {
        "title": "Google",
        "issuer": "https://accounts.google.com",
        "scope": "openid email profile",
    },
    "gitlab": {
        "title": "GitLab",
        "issuer": "https://gitlab.com",
        "scope": "openid email profile",
    },
    "github": {
        "title": "GitHub",
        "base_url": "https://github.com",
        "scope": "read:user user:email",
    },
    # Entra ID; `tenant` (default "common") picks the discovery document (microsoft.py).
    "microsoft": {"title": "Microsoft", "scope": "openid email profile"},
    # Sign in with Apple: the client secret is a JWT we sign with Apple's key (apple.py).
    "apple": {
        "title": "Apple",
        "issuer": "https://appleid.apple.com",
        "scope": "openid email name",
        "token_endpoint_auth_method": "client_secret_post",
    },
    # The issuer and client credentials of the built-in provider are filled in at start-up.
    "dev": {"title": "Development sign-in", "scope": "openid email profile", "trust_email": False},
}
