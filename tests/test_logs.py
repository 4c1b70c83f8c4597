"""Logs: one line per event, text from outside escaped, no personal data or SQL parameters."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.logs import escape_for_log, loggable
from microblog.models import User
from tests import live

SECRET_EMAIL = "private.person@example.org"


def lines_logged(caplog, level: int = logging.INFO) -> list[str]:
    """Every line as a log file would hold it: messages and tracebacks, at level or above."""
    handler = logging.StreamHandler()
    out = []
    for record in caplog.records:
        if record.levelno >= level:
            out.extend(handler.format(record).splitlines())
    return out


@pytest.mark.parametrize("forged", ["\n", "\r\n", "\r", "\u2028", "\x1b[2K\r"])
def test_provider_text_cannot_forge_a_log_line(client, fake_idp, caplog, forged):
    location = fake_idp.start(client, "google").headers["Location"]
    description = f"bad{forged}2026-12-01 INFO sign-in with google succeeded for admin"
    query = urlencode(
        {"error": "server_error", "error_description": description,
         "state": live.query_param(location, "state")}
    )  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="microblog"):
        client.get(f"/auth/google/callback?{query}")
    [failure] = [r for r in caplog.records if "failed" in r.getMessage()]
    message = failure.getMessage()
    assert len(message.splitlines()) == 1 and "\r" not in message and "\x1b" not in message
    assert "\u2028" not in message
    assert "succeeded for admin" in message  # kept, as text on the same line


@pytest.mark.parametrize("how", ["unverified", "in_the_provider_error"])
def test_emails_are_not_logged_above_debug(client, fake_idp, caplog, how):
    with caplog.at_level(logging.DEBUG):
        if how == "unverified":
            resp = fake_idp.sign_in(client, email=SECRET_EMAIL, email_verified=False)
        else:
            location = fake_idp.start(client, "google").headers["Location"]
            description = f"account {SECRET_EMAIL} is suspended"
            state = live.query_param(location, "state")
            resp = client.get(
                "/auth/google/callback",
                query_string={"error": "x", "error_description": description, "state": state},
            )
    assert resp.headers["Location"].startswith("/login")
    logged = lines_logged(caplog)
    assert any("sign-in with google failed" in line for line in logged)
    assert not [line for line in logged if SECRET_EMAIL in line or "private.person" in line]


def test_sql_parameters_are_never_logged(app, client, caplog, make_user):
    """A statement that fails (here a duplicate email) logs its SQL, not its values."""
    make_user(email=SECRET_EMAIL)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500 page and a log line

    @app.get("/duplicate-email")
    def duplicate_email():
        db.session.add(User(nickname="other", email=SECRET_EMAIL))
        db.session.commit()

    with caplog.at_level(logging.DEBUG):
        resp = client.get("/duplicate-email")
    assert resp.status_code == 500
    logged = lines_logged(caplog, logging.ERROR)
    assert any("IntegrityError" in line for line in logged)
    assert any("hidden" in line for line in logged)  # SQLAlchemy says it left them out
    assert not [line for line in logged if SECRET_EMAIL in line]


def test_sql_errors_leave_parameters_out_of_their_message(app, make_user):
    make_user(email=SECRET_EMAIL)
    db.session.add(User(nickname="other", email=SECRET_EMAIL))
    with pytest.raises(sa.exc.IntegrityError) as caught:
        db.session.flush()
    db.session.rollback()
    assert SECRET_EMAIL not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "logged"),
    [("a\nb", "a\\x0ab"), ("a\rb", "a\\x0db"), ("nul\x00", "nul\\x00"),
     ("rtl\u202egro.elpmaxe", "rtl\\u202egro.elpmaxe"), ("é ok", "é ok")],
)  # fmt: skip
def test_escape_for_log(text, logged):
    assert escape_for_log(text) == logged


def test_loggable_redacts_emails_and_bounds_length():
    assert loggable(f"no account for <{SECRET_EMAIL}>") == "no account for <[email]>"
    assert len(loggable("x" * 10_000)) < 600


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_messages_quoting_a_value_leave_emails_out(app):
    with pytest.raises(sa.exc.DataError) as caught:
        db.session.execute(sa.text("SELECT CAST(:x AS INTEGER)"), {"x": SECRET_EMAIL})
    db.session.rollback()
    assert "invalid input syntax" in str(caught.value)
    assert SECRET_EMAIL not in str(caught.value)
