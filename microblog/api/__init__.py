"""The JSON API: personal access tokens, /api/v1/ over social's queries, problem documents."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve the API and the token settings; answer errors under /api/ as problem documents."""
    from . import notification_views, openapi, problems, settings_views, tokens, views  # noqa: F401

    # openapi's and notification_views' routes join views.bp: imported before it is registered.

    tokens.init_app(app)
    problems.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(settings_views.bp)
