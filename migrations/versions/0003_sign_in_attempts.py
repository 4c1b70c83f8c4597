"""sign-in attempts kept server-side; addresses that link an account

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("next_url", sa.Text(), nullable=True),
        sa.Column("link_to", sa.Integer(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_to"],
            ["user.id"],
            name=op.f("fk_sign_in_attempt_link_to_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempt")),
    )
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_attempt_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_email"), ["email"], unique=False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=320), nullable=True)


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=320), nullable=False)
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_email"))
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_attempt_created_at"))
    op.drop_table("sign_in_attempt")
