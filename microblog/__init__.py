"""microblog: a Flask microblog whose users sign in with external identity providers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the app; `config` overrides settings (tests)."""
    from . import api, cli, errors, health, identity, models, moderation, security, social
    from .config import load_config
    from .extensions import csrf, db, limiter, migrate

    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    load_config(app, config)
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies, believe N hops of X-Forwarded-* so the callback URL
        # we send to providers is the public https:// one. (Wrapping wsgi_app is how Flask and
        # Werkzeug document adding middleware; mypy only sees a method being replaced.)
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=proxies,
            x_proto=proxies,
            x_host=proxies,
            x_port=proxies,
            x_prefix=proxies,
        )

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    limiter.init_app(app)
    models.init_app(app)
    security.init_app(app)
    identity.init_app(app)
    social.init_app(app)
    moderation.init_app(app)
    errors.init_app(app)
    health.init_app(app)
    api.init_app(app)  # after errors: it answers errors under /api/ itself
    cli.init_app(app)
    # Every model is imported now: set their mappers up here, not at the first query. A page's
    # hot reads make instances without one (reads.persistent), and a new worker whose first
    # request was an API call failed in them (a 500) with its mappers still unconfigured.
    sa.orm.configure_mappers()
    return app
