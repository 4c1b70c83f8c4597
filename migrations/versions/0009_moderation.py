"""moderation: suspensions, reports, operators and the audit log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_suspended_at"), ["suspended_at"], unique=False)

    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("post_body", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        _fk("report", "reporter_id", "user", "CASCADE"),
        _fk("report", "user_id", "user", "CASCADE"),
        _fk("report", "post_id", "post", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_resolved_at_created_at", ["resolved_at", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_report_reporter_id", ["reporter_id"], unique=False)
        batch_op.create_index("ix_report_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_report_post_id", ["post_id"], unique=False)

    op.create_table(
        "operator",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("operator", "user_id", "user", "CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_operator")),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=True),
        sa.Column("admin_nickname", sa.String(length=24), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("target_nickname", sa.String(length=24), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        _fk("audit_entry", "admin_id", "user", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_created_at_id", ["created_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_created_at_id")
    op.drop_table("audit_entry")
    op.drop_table("operator")
    with op.batch_alter_table("report", schema=None) as batch_op:
        for name in ("ix_report_post_id", "ix_report_user_id", "ix_report_reporter_id",
                     "ix_report_resolved_at_created_at"):  # fmt: skip
            batch_op.drop_index(name)
    op.drop_table("report")
    op.drop_index("ix_user_suspended_at", table_name="user")
    # A plain DROP COLUMN, not a batch rebuild: rebuilding the SQLite user table would lose
    # its AUTOINCREMENT (0005) and the search index's triggers on it (0007).
    if op.get_bind().dialect.name == "sqlite":
        op.execute('ALTER TABLE "user" DROP COLUMN suspended_at')  # SQLite 3.35 and later
    else:
        op.drop_column("user", "suspended_at")
