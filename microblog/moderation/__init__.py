"""Moderation: reports, the operators' queue and people list, suspensions, the audit log."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve the Report forms and /admin/, and add `flask admin`."""
    from . import cli, views

    app.register_blueprint(views.bp)
    app.register_blueprint(views.reports_bp)
    app.cli.add_command(cli.admin)
