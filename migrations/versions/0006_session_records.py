"""session records and seen logout tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

USER_TABLE = {"sqlite_autoincrement": True}


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("sid", sa.String(length=255), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_session_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(
            "ix_user_session_provider_subject", ["provider", "subject"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "seen_logout_token",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "jti", name=op.f("pk_seen_logout_token")),
    )
    with op.batch_alter_table("seen_logout_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seen_logout_token_expires_at"), ["expires_at"], unique=False
        )

    # A sign-in that proves another account, to merge it into the one that asked.
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("merge", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    # Cookies now name a session record: the per-user token they carried before is gone,
    # and with it every session cookie made before this migration (everyone signs in again).
    # The rebuilt SQLite table must keep AUTOINCREMENT (0005), which reflection does not see.
    with op.batch_alter_table("user", table_kwargs=USER_TABLE) as batch_op:
        batch_op.drop_column("session_token")


def downgrade():
    with op.batch_alter_table("user", table_kwargs=USER_TABLE) as batch_op:
        batch_op.add_column(
            sa.Column("session_token", sa.String(length=32), nullable=False, server_default="")
        )
    with op.batch_alter_table("seen_logout_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_logout_token_expires_at"))
    op.drop_table("seen_logout_token")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
        batch_op.drop_index("ix_user_session_provider_subject")
    op.drop_table("user_session")
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_column("merge")
