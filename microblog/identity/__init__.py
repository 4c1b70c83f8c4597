"""Identity: providers, signing in and out, and the accounts behind them.

The rest of the app uses only what this module exports (import-linter checks it).
"""

from __future__ import annotations

from flask import Flask

from .dependence import provider_dependence
from .merge import on_account_merge
from .overview import sign_in_methods
from .registry import all_providers, provider_title
from .sessions import end_sessions_of, end_this_session, on_page_load

__all__ = [
    "all_providers",
    "end_sessions_of",
    "end_this_session",
    "init_app",
    "provider_dependence",
    "on_account_merge",
    "on_page_load",
    "provider_title",
    "sign_in_methods",
]


def init_app(app: Flask) -> None:
    """Load the providers, then serve sign-in, sessions and the development provider."""
    from . import (
        devidp,
        merge_views,  # noqa: F401 - its routes join the auth blueprint
        registry,
        sessions,
        signout,  # noqa: F401 - its routes join the auth blueprint
        views,
    )

    registry.init_app(app)
    sessions.init_app(app)
    views.init_app(app)
    devidp.init_app(app)
