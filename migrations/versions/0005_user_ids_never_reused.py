"""user ids are never reused: AUTOINCREMENT on SQLite (PostgreSQL's sequences never reuse)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""

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
    # migrations/env.py turns SQLite's foreign keys off around every migration: with them on,
    # rebuilding the table would cascade its drop to every identity, post and follow.
    with op.batch_alter_table(
        "user", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
