"""Blueprint for the microblog pages (placeholder until the views land)."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_login import login_required

bp = Blueprint("views", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/")
@login_required
def index() -> str:
    return "timeline"
