"""The bare Flask app the pages are compared with: one route that returns "hello"."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """Create the smallest Flask app: no database, no templates, no extensions."""
    app = Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return "hello"

    return app
