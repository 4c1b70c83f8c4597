"""Health checks for a load balancer: /healthz (the process is alive), /readyz (it can serve)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify
from flask.logging import default_handler
from werkzeug.wrappers import Response

from .extensions import db, limiter

bp = Blueprint("health", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # Flask-Limiter says "falling back to in-memory storage" once per outage, per process, on
    # a logger with only a NullHandler: give it the app's handler, or nobody hears it.
    limiter_log = logging.getLogger("flask-limiter")
    if not any(type(h) is not logging.NullHandler for h in limiter_log.handlers):
        limiter_log.addHandler(default_handler)


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """Say the process is alive; touches nothing else."""
    return _no_store(Response("ok\n", mimetype="text/plain"))


@bp.get("/readyz")
@limiter.exempt
def readyz() -> Response:
    """Say whether this process can serve pages: the database answers (and Redis, if any)."""
    checks = {"database": "ok" if database_answers() else "unavailable", "redis": redis_state()}
    response = jsonify(checks)
    # Without Redis every page still works (rate limits count per process), so it is reported
    # but never takes a host out of the pool: that would take every host out at once.
    response.status_code = 200 if checks["database"] == "ok" else 503
    return _no_store(response)


def database_answers() -> bool:
    """Run the cheapest statement on a pooled connection; False if the database fails it."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return False
    return True


def redis_state() -> str:
    """Return "ok", "down" or "not configured" for the shared rate-limit counters."""
    if not str(current_app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        return "not configured"
    return "ok" if limiter.storage.check() else "down"


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
