"""hashtags (post_tag), resolved for the posts already written

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

from microblog.social.text import hashtags

# revision identifiers, used by Alembic.
revision = "0007"
# The integrator re-chains this after the other branches' migrations (0005 and others).
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 10_000


def upgrade():
    op.create_table(
        "post_tag",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_post_tag_post_id_post"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "tag", name=op.f("pk_post_tag")),
    )
    op.create_index("ix_post_tag_tag_created_at", "post_tag", ["tag", "created_at", "post_id"])
    _tag_existing_posts()


def _tag_existing_posts():
    """Store the tags of the posts written before tags were: the same rule as the write paths."""
    conn = op.get_bind()
    post_tag = sa.table("post_tag", sa.column("post_id"), sa.column("tag"), sa.column("created_at"))
    rows = conn.execute(
        sa.text("SELECT id, body, created_at FROM post WHERE body LIKE '%#%' ORDER BY id")
    )
    while batch := rows.fetchmany(BATCH):
        values = [
            {"post_id": post_id, "tag": tag, "created_at": created_at}
            for post_id, body, created_at in batch
            for tag in sorted(hashtags(body))
        ]
        if values:
            conn.execute(post_tag.insert(), values)


def downgrade():
    op.drop_table("post_tag")  # its index goes with it
