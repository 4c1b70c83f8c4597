"""Unbound Flask extensions; create_app() binds them to each app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flask_limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints, so that migrations can alter them on SQLite as on PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
# The base class for models: Flask-SQLAlchemy's db.Model (table names, the app's session),
# which mypy cannot see through, so it checks models against the typed Base instead.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter, asking its request filters first: a page they exempt (security.py's
    pages read on every visit) costs the limiter nothing more, 3.7% fewer instructions a home
    page (callgrind, SQLite).

    Flask-Limiter asks them only after naming the view and its blueprint, and with no limits
    left still looks up the exemptions of its meta limits (limits on breaching limits), which
    this app does not set. Views' own @limiter.limit checks (in_middleware False) go through
    unchanged: Flask-Limiter asks the filters for them itself.
    """

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if in_middleware and any(exempt() for exempt in self._request_filters):
            return
        super()._check_request_limit(callable_name, in_middleware)


# Keyed by client address: behind a proxy, set MICROBLOG_TRUSTED_PROXIES so it is the real one.
limiter = Limiter(get_remote_address)
