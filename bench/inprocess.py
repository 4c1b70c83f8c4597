"""In-process checks through the Flask test client: the session cookie, pages, SQL and plans."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa
from flask import Flask, session
from flask_wtf.csrf import generate_csrf

from microblog.extensions import db
from microblog.identity import sessions
from microblog.models import User

USER_AGENT = "microblog-bench"
REMOTE_ADDR = "127.0.0.1"  # gunicorn on loopback sees the load generator from here
# Plan lines that mean the query reads or sorts far more than a page of rows.
SQLITE_ALARMS = ("USE TEMP B-TREE FOR ORDER BY",)
TABLES = ("post", "user", "follow", "identity")
# A scan of a table (maybe aliased, as post_1) that names no index; subqueries are not tables.
SQLITE_FULL_SCAN = re.compile(rf"^SCAN ({'|'.join(TABLES)})(_\d+)?$")
PAGE_SIZES = (5, None, 50)  # posts a page for the statement counts; None: the app's default
# A sort of more posts than a few pages is flagged; whether it grows with the table is for the
# report to judge (a per-author LATERAL page sorts followed × page size rows, at any size).
SORT_ALARM_ROWS = 100
POST_COLUMN = re.compile(r"^post(_\d+)?\.")


def mint_cookie(app: Flask, user_id: int) -> str:
    """Sign a user in with the app's own code and return the `session` cookie a browser keeps.

    identity's sessions.begin stores a session record and Flask-Login's login_user fills the
    session (the record's id and secret, freshness and the client identifier of session
    protection) and Flask-WTF adds its CSRF token, as a real sign-in and first page would: the
    pages measured then set no new cookie.
    """
    environ = {"REMOTE_ADDR": REMOTE_ADDR}
    with app.test_request_context("/", headers={"User-Agent": USER_AGENT}, environ_base=environ):
        user = db.session.get(User, user_id)
        assert user is not None, f"no user {user_id}"
        sessions.begin(user, "bench", f"bench-{user_id}")
        generate_csrf()
        data = dict(session)
        db.session.remove()
    return app.session_interface.get_signing_serializer(app).dumps(data)


def client_for(app: Flask, cookie: str | None) -> Any:
    """A test client with the signed-in visitor's cookie, or a visitor's (None)."""
    client = app.test_client()
    if cookie is not None:
        client.set_cookie("session", cookie)
    return client


def get(client: Any, url: str, headers: dict[str, str] | None = None) -> Any:
    return client.get(
        url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        environ_base={"REMOTE_ADDR": REMOTE_ADDR},
    )


@dataclass
class Statement:
    sql: str
    params: Any


@contextmanager
def recording(app: Flask) -> Iterator[list[Statement]]:
    """Record every SQL statement the app's engine sends while the block runs."""
    statements: list[Statement] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, many: bool) -> None:
        statements.append(Statement(sql, params))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def page_statements(
    app: Flask, cookie: str | None, url: str, headers: dict[str, str] | None = None
) -> tuple[list[Statement], Any]:
    """Fetch url once to warm caches, then again counting its SQL statements."""
    client = client_for(app, cookie)
    get(client, url, headers)
    with recording(app) as statements:
        response = get(client, url, headers)
    return statements, response


def older_link(html: str) -> str | None:
    """Return the href of the page's "Older" link (rel="next"), if any."""
    links = _Links()
    links.feed(html)
    return next((href for rel, href in links.links if "next" in rel.split()), None)


def follow_older(app: Flask, cookie: str, url: str, times: int) -> str:
    """Follow the "Older" link from url `times` times; return the last page's URL."""
    client = client_for(app, cookie)
    for _ in range(times):
        response = get(client, url)
        assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
        href = older_link(response.get_data(as_text=True))
        assert href, f"{url} has no Older link"
        url = href
    return url


def explain(app: Flask, statement: Statement) -> tuple[list[str], list[str]]:
    """Return the plan of one recorded statement (run with its parameters) and its alarms.

    Alarms are full scans and sorts of the posts: in SQLite any "USE TEMP B-TREE FOR ORDER BY";
    in PostgreSQL a Seq Scan, or a sort of more than SORT_ALARM_ROWS posts as EXPLAIN ANALYZE
    counted them.
    """
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, statement.params)
            plan = _sqlite_tree(list(rows))
            return plan, [line.strip() for line in plan if _sqlite_alarm(line.strip())]
        # ANALYZE runs the query: the plan then shows the rows each step really read.
        options = "ANALYZE, COSTS false, TIMING false, SUMMARY false"
        text = conn.exec_driver_sql(f"EXPLAIN ({options}) {statement.sql}", statement.params)
        plan = [row[0] for row in text]
        tree = conn.exec_driver_sql(
            f"EXPLAIN ({options}, FORMAT JSON) {statement.sql}", statement.params
        ).scalar()
        alarms: list[str] = []
        _postgres_alarms(tree[0]["Plan"], alarms)
        return plan, alarms


def _sqlite_alarm(line: str) -> bool:
    return any(a in line for a in SQLITE_ALARMS) or bool(SQLITE_FULL_SCAN.match(line))


def _postgres_alarms(node: dict[str, Any], alarms: list[str]) -> None:
    kind, relation = node["Node Type"], node.get("Relation Name")
    if kind == "Seq Scan" and relation in TABLES:
        alarms.append(f"Seq Scan on {relation}")
    keys = node.get("Sort Key", [])
    if kind in ("Sort", "Incremental Sort") and any(POST_COLUMN.match(k) for k in keys):
        child = node["Plans"][0]
        sorted_rows = round(child.get("Actual Rows", 0) * child.get("Actual Loops", 1))
        if sorted_rows > SORT_ALARM_ROWS:
            alarms.append(f"sorts {sorted_rows} posts (Sort Key: {', '.join(keys)})")
    for child in node.get("Plans", []):
        _postgres_alarms(child, alarms)


def posts_statement(statements: list[Statement]) -> Statement | None:
    """Pick the statement that loads the page's list: posts, replies or notifications."""
    for s in statements:
        flat = " ".join(s.sql.split()).lower()
        if "order by" in flat and "limit" in flat:
            return s
    return None


def check_pages(
    make_app: Callable[[int | None], Flask],
    cookie: str,
    pages: dict[str, str],
    visitor_pages: frozenset[str] = frozenset(),
    headers: dict[str, dict[str, str]] | None = None,
) -> dict[str, dict]:
    """Count each page's SQL statements at 5, default and 50 posts a page; explain its queries.

    make_app(posts_per_page) returns an app on the database; None means the default page size.
    Pages in visitor_pages are fetched signed out; headers adds request headers by page
    (the API's token).
    """
    checks: dict[str, dict] = {name: {"statements": {}, "plans": []} for name in pages}
    for per_page in PAGE_SIZES:
        app = make_app(per_page)
        key = str(per_page or app.config["POSTS_PER_PAGE"])
        for name, path in pages.items():
            who = None if name in visitor_pages else cookie
            statements, response = page_statements(app, who, path, (headers or {}).get(name))
            if response.status_code != 200:
                raise RuntimeError(f"{name} ({path}): HTTP {response.status_code} in-process")
            checks[name]["statements"][key] = len(statements)
            if per_page is None:
                checks[name]["set_cookie"] = bool(response.headers.getlist("Set-Cookie"))
                checks[name]["plans"] = explain_all(app, statements)
                posts = posts_statement(statements)
                checks[name]["query_ms"] = time_statement(app, posts) if posts else None
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return checks


def time_statement(app: Flask, statement: Statement, runs: int = 30) -> float:
    """Return the median milliseconds the database takes to run a statement and fetch its rows."""
    with app.app_context(), db.engine.connect() as conn:
        times = []
        for _ in range(runs + 3):
            started = time.perf_counter()
            conn.exec_driver_sql(statement.sql, statement.params).fetchall()
            times.append((time.perf_counter() - started) * 1e3)
    return round(statistics.median(times[3:]), 3)  # the first runs warm the caches


def explain_all(app: Flask, statements: list[Statement]) -> list[dict]:
    """Plan every statement but primary-key lookups; mark the one that loads the posts; time
    each statement whose plan sorts."""
    posts = posts_statement(statements)
    plans = []
    for s in statements:
        plan, alarms = explain(app, s)
        if s is not posts and len(plan) == 1 and "PRIMARY KEY" in plan[0]:
            continue
        entry = {
            "sql": " ".join(s.sql.split()),
            "posts_query": s is posts,
            "plan": plan,
            "alarms": alarms,
        }
        if any(is_sort(a) for a in alarms):  # judged by whether its time grows with the data
            entry["ms"] = time_statement(app, s)
        plans.append(entry)
    return plans


def is_sort(alarm: str) -> bool:
    """A sort flag (bounded or not), as opposed to a full scan."""
    return "TEMP B-TREE" in alarm or alarm.startswith("sorts ")


def _sqlite_tree(rows: list[Any]) -> list[str]:
    depth: dict[int, int] = {0: -1}
    lines = []
    for node_id, parent, _notused, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + detail)
    return lines


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            a = dict(attrs)
            if a.get("href"):
                self.links.append((a.get("rel") or "", a["href"] or ""))
