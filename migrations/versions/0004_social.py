"""display names, replies, edits, likes, mentions, notifications, blocks and mutes

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
# Until the hardening branch's 0003 is merged; then this becomes "0003".
down_revision = "0002"
branch_labels = None
depends_on = None


def _user_fk(table, column):
    return sa.ForeignKeyConstraint(
        [column], ["user.id"], name=op.f(f"fk_{table}_{column}_user"), ondelete="CASCADE"
    )


def _post_fk(table, column, ondelete="CASCADE"):
    return sa.ForeignKeyConstraint(
        [column], ["post.id"], name=op.f(f"fk_{table}_{column}_post"), ondelete=ondelete
    )


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("display_name", sa.String(length=50), server_default="", nullable=False)
        )

    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_post_reply_to_id_post"), "post", ["reply_to_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch_op.create_index(
            "ix_post_reply_to_id_created_at_id", ["reply_to_id", "created_at", "id"], unique=False
        )

    with op.batch_alter_table("follow", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_followed_id")
        batch_op.create_index(
            "ix_follow_followed_id_created_at", ["followed_id", "created_at", "follower_id"]
        )
        batch_op.create_index(
            "ix_follow_follower_id_created_at", ["follower_id", "created_at", "followed_id"]
        )

    op.create_table(
        "post_like",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _post_fk("post_like", "post_id"),
        _user_fk("post_like", "user_id"),
        sa.PrimaryKeyConstraint("post_id", "user_id", name=op.f("pk_post_like")),
    )
    op.create_index("ix_post_like_user_id", "post_like", ["user_id"], unique=False)

    op.create_table(
        "mention",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _post_fk("mention", "post_id"),
        _user_fk("mention", "user_id"),
        sa.PrimaryKeyConstraint("post_id", "name", name=op.f("pk_mention")),
    )
    op.create_index("ix_mention_user_id", "mention", ["user_id"], unique=False)

    op.create_table(
        "post_edit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _post_fk("post_edit", "post_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_edit")),
    )
    op.create_index(
        "ix_post_edit_post_id_created_at_id", "post_edit", ["post_id", "created_at", "id"]
    )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen", sa.Boolean(), nullable=False),
        _user_fk("notification", "recipient_id"),
        _user_fk("notification", "actor_id"),
        _post_fk("notification", "post_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    op.create_index(
        "ix_notification_recipient_id_created_at_id",
        "notification",
        ["recipient_id", "created_at", "id"],
    )
    op.create_index("ix_notification_recipient_id_seen", "notification", ["recipient_id", "seen"])
    op.create_index("ix_notification_actor_id", "notification", ["actor_id"])
    op.create_index("ix_notification_post_id", "notification", ["post_id"])

    for table, owner, other in (("block", "blocker_id", "blocked_id"),
                                ("mute", "muter_id", "muted_id")):  # fmt: skip
        op.create_table(
            table,
            sa.Column(owner, sa.Integer(), nullable=False),
            sa.Column(other, sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            _user_fk(table, owner),
            _user_fk(table, other),
            sa.PrimaryKeyConstraint(owner, other, name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_{other}", table, [other], unique=False)


def downgrade():
    for table in ("mute", "block", "notification", "post_edit", "mention", "post_like"):
        op.drop_table(table)  # their indexes go with them
    with op.batch_alter_table("follow", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_follower_id_created_at")
        batch_op.drop_index("ix_follow_followed_id_created_at")
        batch_op.create_index("ix_follow_followed_id", ["followed_id"], unique=False)
    # Deleted posts kept for their replies have no author; they cannot stay when it is required.
    op.execute("DELETE FROM post WHERE user_id IS NULL")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_reply_to_id_created_at_id")
        batch_op.drop_constraint(batch_op.f("fk_post_reply_to_id_post"), type_="foreignkey")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("edited_at")
        batch_op.drop_column("reply_to_id")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("display_name")
