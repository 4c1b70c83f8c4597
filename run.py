"""Serve microblog for development: `python run.py` (what `make run` does).

Runs in development mode, so the built-in development provider is on. Debug stays off
unless FLASK_DEBUG=1. HOST and PORT choose the address (default 127.0.0.1:5000).
"""

import os

from microblog import create_app

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    os.environ.setdefault("MICROBLOG_ENV", "development")
    # Listening on every address, the server itself is still reachable on loopback.
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ.setdefault("DEV_IDP_ISSUER", f"http://{local}:{port}/dev-idp")
    app = create_app()
    print(f" * microblog on http://{host}:{port}/  (Ctrl+C to stop)")
    app.run(host=host, port=port, debug=os.environ.get("FLASK_DEBUG") == "1", threaded=True)
