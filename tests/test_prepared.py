"""PostgreSQL: reads run outside a transaction and their statements stay prepared across
requests; what wrote still runs in one, and rolls back."""

import psycopg
import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from microblog.prepared import only_reads

IDLE, INTRANS = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS


def prepared_statements() -> list[str]:
    """The statements prepared on the pool's connection (the one the requests used)."""
    with db.engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars())


def users() -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(User)).scalar_one()


def test_a_page_read_over_and_over_runs_prepared_statements(app, client):
    if db.engine.dialect.name != "postgresql":
        return  # SQLite prepares nothing across requests
    db.session.remove()  # the test's own session holds no connection: the pool has one
    for _ in range(7):  # psycopg prepares what it ran five times on the connection
        assert client.get("/").status_code == 200
    assert any('FROM post JOIN "user"' in sql for sql in prepared_statements())


def test_prepared_statements_are_planned_once_not_per_request(app, client):
    # PostgreSQL plans a prepared statement for its values on its first five runs and, for
    # the tag page's, on every run after: its generic plan looks a little dearer.
    if db.engine.dialect.name != "postgresql":
        return  # SQLite prepares nothing across requests
    db.session.remove()
    for _ in range(8):
        assert client.get("/tags/coffee").status_code == 200
    with db.engine.connect() as conn:
        plans = conn.exec_driver_sql(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        ).all()
    tag_page = [p for p in plans if "post_tag.tag =" in p.statement]
    assert len(tag_page) == 1 and tag_page[0].generic_plans >= 3
    assert [p.statement for p in plans if p.custom_plans] == []


def server_transaction() -> psycopg.pq.TransactionStatus:
    """Whether the session's connection has a transaction open on the server (BEGIN sent)."""
    return db.session.connection().connection.dbapi_connection.info.transaction_status


def test_reads_open_no_transaction_until_something_writes(app, make_user):
    if db.engine.dialect.name != "postgresql":
        return  # SQLite's transactions cost no round trip
    ann_id = make_user("ann").id
    db.session.remove()
    assert db.session.scalar(sa.select(User.nickname).where(User.id == ann_id)) == "ann"
    assert server_transaction() == IDLE  # no BEGIN before the read, no COMMIT after it
    db.session.execute(sa.update(User).where(User.id == ann_id).values(about="first"))
    assert server_transaction() == INTRANS
    assert db.session.scalar(sa.select(User.about).where(User.id == ann_id)) == "first"
    db.session.commit()
    db.session.scalar(sa.select(User.id))
    assert server_transaction() == IDLE  # the next transaction reads without one again
    db.session.execute(sa.select(User.id).where(User.id == ann_id).with_for_update())
    assert server_transaction() == INTRANS  # a lock lasts until the end of a transaction
    db.session.rollback()


def test_connections_outside_the_session_work_as_they_did(app):
    if db.engine.dialect.name != "postgresql":
        return
    db.session.scalar(sa.select(User.id))
    db.session.remove()  # the connection goes back to the pool
    raw = db.engine.raw_connection()  # the same one, as psycopg makes them
    try:
        assert raw.dbapi_connection.autocommit is False
    finally:
        raw.close()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql('VACUUM "user"')  # refused inside a transaction


def test_a_transaction_that_wrote_still_rolls_back(app):
    db.session.add(User(nickname="ann", email="ann@example.org"))
    db.session.flush()
    db.session.rollback()
    db.session.execute(sa.insert(User).values(nickname="bob", email="bob@example.org"))
    db.session.remove()  # closing the session rolls back what it did not commit
    assert users() == 0


def test_a_read_after_a_write_in_one_transaction_still_rolls_back(app):
    db.session.execute(sa.insert(User).values(nickname="ann", email="ann@example.org"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    db.session.rollback()
    assert users() == 0


def test_a_failed_statement_rolls_back_and_the_connection_goes_on(app):
    db.session.scalar(sa.select(User.id))
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.text("SELECT no_such_column FROM no_such_table"))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("sql", "reads"),
    [
        ('SELECT "user".id, "user".created_at FROM "user" WHERE "user".id = %(id)s', True),
        ("WITH RECURSIVE chain(id) AS (SELECT post.id FROM post) SELECT * FROM chain", True),
        ("  select block.blocked_id, post.edited_at, deleted FROM block", True),
        ("SELECT post.id FROM post FOR UPDATE", False),
        ("WITH gone AS (DELETE FROM post RETURNING id) SELECT * FROM gone", False),
        ("SELECT post.id INTO copy FROM post", False),
        ("SELECT nextval('post_id_seq')", False),
        ("INSERT INTO post (body) VALUES (%(body)s)", False),
        ("UPDATE user_session SET last_active_at = %(at)s", False),
        ("DELETE FROM post", False),
        ("SET LOCAL statement_timeout = 0", False),
        ("DO $$ BEGIN PERFORM 1; END $$", False),
        ("SELECT post.id FROM post FOR KEY SHARE", False),
        ("SELECT pg_advisory_xact_lock(42)", False),
        ("SELECT post.share_count, locked_at FROM post", True),
    ],
)
def test_what_only_reads(sql, reads):
    assert only_reads(sql) is reads
