"""the date index on posts carries the author: a timeline walks it without reading the posts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # Explore walks it as before (its first two columns); a home timeline walks it too and
    # keeps the posts of the people followed, from the index alone. No table rebuild here.
    op.create_index("ix_post_created_at_id_user_id", "post", ["created_at", "id", "user_id"])
    op.drop_index("ix_post_created_at_id", table_name="post")


def downgrade():
    op.create_index("ix_post_created_at_id", "post", ["created_at", "id"])
    op.drop_index("ix_post_created_at_id_user_id", table_name="post")
