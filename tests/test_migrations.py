"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from microblog.extensions import db


def test_migrated_schema_matches_the_models(app):
    # As `flask db migrate` compares: without the search index, which no model describes
    # (tests/social/test_search.py checks that it is there and current).
    include_name = app.extensions["migrate"].configure_args["include_name"]
    with db.engine.connect() as conn:
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, db.metadata) == []
