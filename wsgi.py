"""WSGI entry point for production: `gunicorn wsgi:app` (see README, Deployment)."""

import sys

from microblog import create_app
from microblog.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"microblog: {exc}", file=sys.stderr)
    sys.exit(4)  # gunicorn's "app failed to load": the arbiter stops instead of respawning
