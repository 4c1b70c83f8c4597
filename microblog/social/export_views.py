"""Settings → Download your data: the export as a JSON file."""

from __future__ import annotations

import json

from flask import make_response
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..models import utcnow
from .export import export_data
from .views import bp


@bp.get("/settings/your-data.json")
@login_required
def download_data() -> Response:
    """Send everything the site holds about the signed-in person as one JSON file."""
    body = json.dumps(export_data(current_user), ensure_ascii=False, indent=2)
    response = make_response(body + "\n")
    response.content_type = "application/json; charset=utf-8"
    name = f"microblog-{current_user.nickname}-{utcnow():%Y-%m-%d}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.cache_control.no_store = True  # personal data: no copy in any cache
    return response
