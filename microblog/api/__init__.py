"""The JSON API: personal access tokens, /api/v1/ over social's queries, problem documents."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Read API tokens, and serve the page in Settings that makes and revokes them."""
    from . import settings_views, tokens

    tokens.init_app(app)
    app.register_blueprint(settings_views.bp)
