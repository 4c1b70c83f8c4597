"""Fixtures for the microblog's pages: signing the test client in as someone."""

import pytest

from tests.helpers import sign_in_as


@pytest.fixture
def sign_in(client):
    """Sign the test client in as a user, without the provider round trip (tested in auth)."""

    return lambda user: sign_in_as(client, user)


@pytest.fixture
def alice(make_user, sign_in):
    return sign_in(make_user("alice"))


@pytest.fixture
def sql_log(app):
    """The SQL statements the app sends from now on, in order."""
    import sqlalchemy as sa

    from microblog.extensions import db

    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)
