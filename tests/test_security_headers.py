"""Hardening for every page (microblog/security.py): headers, Secure cookies, redacted logs."""

from __future__ import annotations


def test_every_page_sends_the_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in resp.headers  # plain http: no HSTS


def test_hsts_only_under_https(client):
    resp = client.get("/login", base_url="https://localhost")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_remember_cookie_is_secure_under_https(app, fake_idp):
    client = app.test_client()
    location = fake_idp.start(client, "google", remember=True).headers["Location"]
    callback = fake_idp.authorize(location)
    resp = client.get(callback, base_url="https://localhost")
    cookies = resp.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "Secure" in remember and "HttpOnly" in remember and "SameSite=Lax" in remember


def test_logged_request_lines_never_show_the_code():
    import logging

    from microblog.security import RedactSecrets

    line = "GET /auth/google/callback?code=SECRET123&state=abc HTTP/1.1"
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '"%s" %s %s', (line, "302", "-"), None
    )
    assert RedactSecrets().filter(record)
    assert "SECRET123" not in record.getMessage()
    assert "code=[redacted]&state=abc" in record.getMessage()
