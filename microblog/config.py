"""Settings: defaults, environment variables, the instance folder and the secret key."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import ScriptInfo

SECRET_KEY_FILE = "secret_key"


class ConfigError(SystemExit):
    """A setting or providers.toml is wrong; the message says where and how to fix it.

    A SystemExit, so that whichever entry point loads the app (run.py, the flask command,
    gunicorn) ends with this one line on stderr and no traceback.
    """


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill app.config from defaults and the environment, then apply overrides (tests)."""
    env = os.environ
    app.config.from_mapping(
        MICROBLOG_ENV=env.get("MICROBLOG_ENV", "production"),
        SERVES_REQUESTS=serves_requests(),
        SQLALCHEMY_DATABASE_URI=database_url(env.get("DATABASE_URL")),
        # SQL parameters hold emails and addresses: never in an error message or a log.
        SQLALCHEMY_ENGINE_OPTIONS={"hide_parameters": True},
        # Bounded waits on the database (seconds): a dead or unreachable server gives a 503
        # page within these, never a hung worker. engine_options() applies them.
        DATABASE_CONNECT_TIMEOUT=_number(env, "MICROBLOG_DB_CONNECT_TIMEOUT", 5.0),
        DATABASE_STATEMENT_TIMEOUT=_number(env, "MICROBLOG_DB_STATEMENT_TIMEOUT", 10.0),
        DATABASE_POOL_TIMEOUT=_number(env, "MICROBLOG_DB_POOL_TIMEOUT", 5.0),
        # SQLite's page cache per connection (MiB; a sync worker holds one). SQLite's own 2 MiB
        # hold what 200 readers' timelines read at 10k posts but not at 1M (an index leaf per
        # author followed): each home page then re-read 46 pages from the OS, 0.3-0.8 ms of
        # CPU. 12 MiB hold every page's reads at 1M, within a worker's 120 MB (~100 without).
        SQLITE_CACHE_MIB=_number(env, "MICROBLOG_SQLITE_CACHE_MIB", 12.0),
        MICROBLOG_PROVIDERS=env.get(
            "MICROBLOG_PROVIDERS", str(Path(app.root_path).parent / "providers.toml")
        ),
        # Where the built-in development provider lives; run.py sets it from its host and port.
        DEV_IDP_ISSUER=env.get("DEV_IDP_ISSUER", "http://127.0.0.1:5000/dev-idp"),
        OAUTH_TIMEOUT=_number(env, "MICROBLOG_OAUTH_TIMEOUT", 10.0),
        # Provider hosts that may resolve to private addresses (a company's own provider).
        PRIVATE_PROVIDER_HOSTS=_names(env, "MICROBLOG_PRIVATE_PROVIDER_HOSTS"),
        OIDC_CLOCK_SKEW=_number(env, "MICROBLOG_CLOCK_SKEW", 60.0),
        # A token with an unknown key id re-fetches the provider's keys at most this often.
        JWKS_REFETCH_INTERVAL=60.0,
        TRUSTED_PROXIES=int(_number(env, "MICROBLOG_TRUSTED_PROXIES", 0)),
        # The site's public address: when set, the only Host answered, and the base of every
        # absolute URL (the callback sent to providers); `flask providers` prints it too.
        PUBLIC_URL=env.get("MICROBLOG_PUBLIC_URL") or None,
        POSTS_PER_PAGE=20,
        # Operators (moderation): nicknames or emails; `flask admin add` names more.
        ADMINS=_names(env, "MICROBLOG_ADMINS"),
        # Cookies: never readable from scripts; Lax, not Strict, or the return from the
        # provider (a cross-site navigation) arrives without the session.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=_number(env, "MICROBLOG_REMEMBER_DAYS", 30)),
        # A CSRF token lives as long as the session: an expired token would lose a typed post.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=64 * 1024,
        # Rate limits: shared across workers through Redis when REDIS_URL is set; per worker
        # in memory otherwise. A Redis outage must not take the site down with it.
        RATELIMIT_STORAGE_URI=env.get("REDIS_URL") or "memory://",
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_HEADERS_ENABLED=True,
        # Seconds to wait for Redis before counting in this process instead.
        REDIS_TIMEOUT=_number(env, "MICROBLOG_REDIS_TIMEOUT", 0.5),
        SIGNIN_RATE_LIMIT=env.get("MICROBLOG_SIGNIN_RATE_LIMIT", "10 per minute;100 per hour"),
        CALLBACK_RATE_LIMIT=env.get("MICROBLOG_CALLBACK_RATE_LIMIT", "20 per minute;200 per hour"),
        POST_RATE_LIMIT=env.get("MICROBLOG_POST_RATE_LIMIT", "10 per minute;500 per day"),
        # Every API request counts against its token's limit; posting also against POST's.
        API_RATE_LIMIT=env.get("MICROBLOG_API_RATE_LIMIT", "300 per minute;10000 per day"),
    )
    if overrides:
        app.config.from_mapping(overrides)
    app.config["PUBLIC_URL"] = public_url(app.config["PUBLIC_URL"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = env.get("SECRET_KEY") or load_secret_key(app.instance_path)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", redis_options(app.config))


def serves_requests() -> bool:
    """False only while the `flask` command loads the app for a command that serves no one.

    `flask db upgrade`, `flask providers`, `flask shell` and the listing of commands load the
    app to run one task; `flask run`, gunicorn (wsgi.py) and run.py load it to answer requests.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.find_object(ScriptInfo) is None:
        return True
    return ctx.info_name == "run"


def public_url(value: str | None) -> str | None:
    """Return MICROBLOG_PUBLIC_URL as scheme://host[:port], or raise ConfigError."""
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ConfigError(
            f"environment: MICROBLOG_PUBLIC_URL={value!r} is not scheme://host[:port] "
            "(e.g. https://blog.example.com; a path prefix comes from X-Forwarded-Prefix)"
        )
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.netloc.lower()
    if parts.port == default_port:
        host = host.rsplit(":", 1)[0]
    return f"{parts.scheme}://{host}"


def database_url(value: str | None) -> str:
    """Return the SQLAlchemy URL for DATABASE_URL, choosing psycopg 3 for PostgreSQL."""
    if not value:
        # Flask-SQLAlchemy resolves a relative SQLite path against the instance folder.
        return "sqlite:///microblog.sqlite"
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the engine options with the configured timeouts for the database in use."""
    options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    url = sa.engine.make_url(config["SQLALCHEMY_DATABASE_URI"])
    # SQLite's equivalent, the busy timeout, is set on each connection (models.init_app);
    # an in-memory SQLite has no pool to wait for (and refuses a pool_timeout).
    in_memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    if url.get_backend_name() == "sqlite" and not in_memory:
        # The connection returned last serves the next request: its page cache is the warm
        # one, and a second connection (an API token's touch) stays small, not taking turns.
        options.setdefault("pool_use_lifo", True)
    if url.get_backend_name() != "postgresql":
        return options
    # A server's connection can die between requests (a restart, a failover): test it on the
    # way out of the pool. A SQLite file's cannot, and the test would cost every request.
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_timeout", config["DATABASE_POOL_TIMEOUT"])
    connect = max(2, math.ceil(config["DATABASE_CONNECT_TIMEOUT"]))  # libpq's minimum
    statement_ms = int(config["DATABASE_STATEMENT_TIMEOUT"] * 1000)
    # connect_args replace the URL's own `options`: keep them (a search_path, say).
    url_options = url.query.get("options", "")
    if not isinstance(url_options, str):
        url_options = " ".join(url_options)
    args = {
        "connect_timeout": connect,
        "options": f"{url_options} -c statement_timeout={statement_ms:d}".strip(),
        # A cut link is noticed by TCP, not by the server: unacknowledged data or silent
        # keepalives end the connection after about `connect` seconds.
        "tcp_user_timeout": connect * 1000,
        "keepalives": 1,
        "keepalives_idle": connect,
        "keepalives_interval": 1,
        "keepalives_count": 2,
    }
    return {**options, "connect_args": {**args, **options.get("connect_args", {})}}


def redis_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the rate-limit storage's options: Redis waits bounded by REDIS_TIMEOUT."""
    if not str(config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        return {}
    timeout = config["REDIS_TIMEOUT"]
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


def load_secret_key(instance_path: str) -> str:
    """Read the instance secret key, creating it (mode 0600) on first start."""
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a private temporary file, then link it into place: two workers starting at once
    # both end up with the key that won, never with a half-written file.
    tmp = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Split a comma- or space-separated list of host names, lowercased."""
    return tuple(n.lower() for n in env.get(name, "").replace(",", " ").split())


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"environment: {name}={raw!r} is not a number") from None
