"""user ids are never reused: AUTOINCREMENT on SQLite (PostgreSQL's sequences never reuse)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    _rebuild_user(autoincrement=True)


def downgrade():
    _rebuild_user(autoincrement=False)


def _rebuild_user(autoincrement: bool) -> None:
    """Rebuild the SQLite user table, declared with or without AUTOINCREMENT."""
    if op.get_bind().dialect.name != "sqlite":
        return  # nothing to do: a PostgreSQL sequence never hands out a value twice
    # Rebuilding drops the old table; with foreign keys on, SQLite would cascade that drop to
    # every identity, post and follow. The pragma works only outside a transaction.
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        with op.batch_alter_table(
            "user", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
        problems = op.get_bind().execute(sa.text("PRAGMA foreign_key_check")).all()
        if problems:
            raise RuntimeError(f"foreign keys broken by the user table rebuild: {problems}")
    finally:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")
