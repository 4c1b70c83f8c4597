"""reads.py runs a statement on the DBAPI cursor as Session.execute would: same rows, same
values, same events, same errors; and `persistent` makes instances the ORM would have loaded."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from microblog import reads
from microblog.extensions import db
from microblog.models import User, UTCDateTime, utcnow
from microblog.social.models import Post


@pytest.fixture
def posts(app, make_user):
    ann = make_user("ann")
    start = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    for n in range(5):
        db.session.add(Post(user_id=ann.id, body=f"post {n}", created_at=start + timedelta(n)))
    db.session.commit()
    return start


def statement() -> sa.Select:
    """Datetimes, a boolean, a bound value, a bound literal and a written-in LIMIT."""
    since = sa.bindparam("since", type_=Post.created_at.type)
    return (
        sa.select(Post.id, Post.body, Post.created_at, (Post.created_at > since).label("late"))
        .where(Post.created_at >= since, Post.body != "nothing")
        .order_by(Post.created_at.desc())
        .limit(sa.bindparam(None, 3, literal_execute=True))
    )


def test_rows_are_those_session_execute_returns(posts):
    query, values = statement(), {"since": posts + timedelta(1)}
    expected = [tuple(row) for row in db.session.execute(query, values)]
    got = reads.rows(query, values)
    assert got == expected
    assert [row[1] for row in got] == ["post 4", "post 3", "post 2"]
    assert got[0][2] == posts + timedelta(4) and got[0][2].tzinfo is not None
    assert [row[3] for row in got] == [True, True, True]
    # The same statement object again: planned once, values filled in anew.
    planned = reads.plan_for.cache_info()
    assert [row[1] for row in reads.rows(query, {"since": posts + timedelta(3)})] == [
        "post 4",
        "post 3",
    ]
    after = reads.plan_for.cache_info()
    assert (after.hits, after.misses) == (planned.hits + 1, planned.misses)


def test_every_statement_is_seen_by_the_engine_events(posts, statements):
    reads.rows(statement(), {"since": posts})
    assert len(statements) == 1 and "LIMIT 3" in statements[0]


def test_what_the_events_see_runs_again_as_the_driver_takes_it(posts):
    # The benchmark EXPLAINs the statements it records: one set of parameters, not a list.
    seen = []
    record = lambda conn, cursor, sql, params, *_: seen.append((sql, params))  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        got = reads.rows(statement(), {"since": posts})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    [(sql, params)] = seen
    again = db.session.connection().exec_driver_sql(sql, params).all()
    assert [row[0] for row in again] == [row[0] for row in got]


def test_a_value_left_out_is_refused(posts):
    with pytest.raises(sa.exc.ArgumentError, match="since"):
        reads.rows(statement(), {})


def test_a_failing_statement_raises_what_sqlalchemy_raises(app):
    missing = sa.table("no_such_table", sa.column("id"))
    with pytest.raises(sa.exc.DBAPIError) as failure:
        reads.rows(sa.select(missing.c.id), {})
    assert isinstance(failure.value, sa.exc.OperationalError | sa.exc.ProgrammingError)


def test_persistent_instances_write_back_only_what_changed(app, make_user, statements):
    ann_id = make_user("ann", display_name="Ann").id
    db.session.remove()
    [row] = reads.rows(sa.select(*User.__table__.columns).where(User.id == ann_id), {})
    user = reads.persistent(User, dict(zip(User.__table__.columns.keys(), row, strict=True)))
    assert user in db.session and not db.session.dirty
    assert reads.persistent(User, {"id": ann_id}) is user  # the session's one for that row
    user.about = "hello"
    del statements[:]
    db.session.commit()
    [update] = [s for s in statements if s.startswith("UPDATE")]
    assert "about" in update and "display_name" not in update and "nickname" not in update
    db.session.remove()
    again = db.session.get(User, ann_id)
    assert (again.about, again.display_name, again.created_at <= utcnow()) == ("hello", "Ann", True)


def test_persistent_instances_load_their_relationships_and_can_be_deleted(posts, statements):
    db.session.remove()
    query = sa.select(*reads.columns(Post)).order_by(Post.created_at).limit(2)
    first, second = (reads.from_row(Post, row) for row in reads.rows(query, {}))
    kept, deleted = first.id, second.id
    del statements[:]
    assert first.author.nickname == "ann"  # loaded when asked for, as after a query
    assert [s for s in statements if s.startswith("SELECT")] and not db.session.dirty
    db.session.delete(second)
    db.session.commit()
    db.session.remove()
    assert db.session.get(Post, deleted) is None and db.session.get(Post, kept) is not None


@pytest.mark.parametrize(
    "stored",
    ["2026-12-01 10:00:00.123456", "2026-12-01 10:00:00", "2026-12-01 10:00:00.5", "2026-12-01"],
)
def test_sqlite_datetimes_read_quickly_are_those_read_the_generic_way(stored):
    dialect = sqlite.dialect()
    quick = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    generic = sa.DateTime().dialect_impl(dialect).result_processor(dialect, None)
    expected = generic(stored).replace(tzinfo=UTC)
    assert quick(stored) == expected and quick(stored).tzinfo is not None
    assert quick(None) is None
