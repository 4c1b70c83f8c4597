"""gunicorn settings, read automatically when gunicorn starts in this folder.

The access log leaves out query strings: the sign-in callback's carries a one-time code.
"""

import os

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def _provider_deadline() -> float:
    try:
        return float(os.environ.get("MICROBLOG_OAUTH_TIMEOUT") or 10)
    except ValueError:
        return 10.0  # the app itself stops with a message naming the setting


# A page waits at most MICROBLOG_OAUTH_TIMEOUT seconds for providers in all: give a worker
# more than that, so that a slow provider ends in a message, never in a killed worker.
timeout = max(30, int(_provider_deadline()) + 20)
# On a restart (SIGTERM, SIGHUP) workers get this long to finish the requests they hold.
graceful_timeout = 10


def post_fork(server, worker):
    """Blank credentials out of the worker's error log: a killed request logs its URL."""
    from microblog.security import RedactSecrets

    worker.log.error_log.addFilter(RedactSecrets())
