"""gunicorn settings, read automatically when gunicorn starts in this folder.

The access log leaves out query strings: the sign-in callback's carries a one-time code.
"""

# Bounded waits: a worker stuck longer than `timeout` is killed and replaced; on a restart
# (SIGTERM, SIGHUP) workers get `graceful_timeout` to finish the requests they hold.
timeout = 30
graceful_timeout = 10

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
