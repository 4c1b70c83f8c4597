"""The test harness itself: the live server, failure screenshots, choosing PostgreSQL."""

from __future__ import annotations

import socket
import struct
import time

import pytest
from flask import Flask, send_file

from microblog.testing.client import hidden_fields
from tests import helpers, live


def request_then_reset(port: int) -> None:
    """Ask for a page announcing a body never sent, read the answer, then reset the connection.

    Werkzeug's handler waits for the rest of the body after answering, so the reset reaches it
    on its dropped-connection path, deterministically.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /file HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nx")
        answer = b""
        while not answer.endswith(b"\r\n0\r\n\r\n"):  # the end of a chunked body
            chunk = conn.recv(65536)
            assert chunk, answer[:300]
            answer += chunk
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_dropped_connection_closes_the_file_being_sent():
    opened = []
    app = Flask(__name__)

    @app.get("/file")
    def file():
        opened.append(open(live.ROOT / "microblog/static/style.css", "rb"))
        return send_file(opened[-1], mimetype="text/css")

    with live.LiveServer(app) as server:
        for _ in range(3):
            request_then_reset(server.port)
        deadline = time.monotonic() + 5
        while not all(f.closed for f in opened) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(opened) == 3
    # Left open, each would be closed by the garbage collector, with a ResourceWarning that
    # `filterwarnings = error` turns into the failure of whichever test is running then.
    assert all(f.closed for f in opened)


@pytest.mark.parametrize(
    ("name", "file"),
    [("u/local", "01-u-local.png"), ("../../etc", "01-etc.png"), ("/", "01--.png")],
)
def test_screenshots_of_any_page_path_are_saved(tmp_path, name, file):
    test_id = "tests/web/test_browser.py::test_pages[/u/local]"
    folder = live.save_screenshots(tmp_path, test_id, [(name, b"png")])
    assert folder == tmp_path / "tests-web-test_browser.py-test_pages-u-local"
    assert [p.name for p in folder.iterdir()] == [file]
    assert (folder / file).read_bytes() == b"png"


def test_hidden_fields_are_read_as_a_browser_submits_them():
    html = (
        '<form><input type="hidden" name="csrf_token" value="a&amp;b">'
        '<input type="text" name="body" value="typed"><input type="hidden" name="next"></form>'
    )
    assert hidden_fields(html) == {"csrf_token": "a&b", "next": ""}
    assert helpers.hidden_fields(html) == live.hidden_fields(html) == hidden_fields(html)


@pytest.fixture
def choose_postgres(monkeypatch):
    """Run the choice afresh (it is made once per run) with this environment."""

    def choose(**env: str | None) -> tuple[str | None, str]:
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return helpers.postgres.__wrapped__()

    return choose


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_postgres_at_the_default_address_is_used_without_a_variable(choose_postgres):
    default = helpers.DEFAULT_POSTGRES_URL
    helpers.need(helpers.connect_problem(default) is None, f"no PostgreSQL at {default}")
    assert choose_postgres(MICROBLOG_TEST_POSTGRES_URL=None) == (
        default, "found at the default address"
    )  # fmt: skip


def test_no_postgres_at_the_default_address_says_why(choose_postgres, monkeypatch):
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    monkeypatch.setattr(helpers, "DEFAULT_POSTGRES_URL", nowhere)
    url, why = choose_postgres(MICROBLOG_TEST_POSTGRES_URL=None)
    assert url is None
    assert why.startswith(f"no PostgreSQL at {nowhere} (") and "Connection refused" in why
    assert "MICROBLOG_TEST_POSTGRES_URL" in why


@pytest.mark.parametrize("off", ["", "none", "off", "None"])
def test_postgres_can_be_turned_off(choose_postgres, off):
    url, why = choose_postgres(MICROBLOG_TEST_POSTGRES_URL=off)
    assert url is None and "off" in why


def test_the_variable_chooses_another_postgres(choose_postgres):
    other = "postgresql+psycopg://someone@127.0.0.1:6543/elsewhere"
    assert choose_postgres(MICROBLOG_TEST_POSTGRES_URL=other) == (
        other, "from MICROBLOG_TEST_POSTGRES_URL"
    )  # fmt: skip
