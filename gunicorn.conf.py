"""gunicorn settings, read automatically when gunicorn starts in this folder.

The access log leaves out query strings: the sign-in callback's carries a one-time code.
"""

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
