"""hashtags (post_tag) and full-text search (FTS5 on SQLite, tsvector + GIN on PostgreSQL),
both built for the posts already written

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

from microblog.social.text import hashtags

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 10_000
# ASCII punctuation reads as a space to PostgreSQL's parser as it does to FTS5's unicode61,
# so that "example.org" is the words "example" and "org" on both (not one host name token).
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
PG_VECTOR = "to_tsvector('simple'::regconfig, translate(body, '{}', '{}'))".format(
    PUNCTUATION.replace("'", "''"), " " * len(PUNCTUATION)
)
# Kept current by the database: an external-content FTS5 table, updated by triggers.
# (A later migration that rebuilds the post table with batch_alter_table drops these
# triggers: it must create them again; tests/social/test_search.py would notice.)
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE post_fts USING fts5(body, content='post', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER post_fts_insert AFTER INSERT ON post BEGIN "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER post_fts_delete AFTER DELETE ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER post_fts_update AFTER UPDATE OF body ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO post_fts(post_fts) VALUES ('rebuild')",  # the posts written before
    # People by the words of their display names.
    "CREATE VIRTUAL TABLE user_fts USING fts5(display_name, content='user', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER user_fts_insert AFTER INSERT ON user BEGIN "
    "INSERT INTO user_fts(rowid, display_name) VALUES (new.id, new.display_name); END",
    "CREATE TRIGGER user_fts_delete AFTER DELETE ON user BEGIN "
    "INSERT INTO user_fts(user_fts, rowid, display_name) "
    "VALUES ('delete', old.id, old.display_name); END",
    "CREATE TRIGGER user_fts_update AFTER UPDATE OF display_name ON user BEGIN "
    "INSERT INTO user_fts(user_fts, rowid, display_name) "
    "VALUES ('delete', old.id, old.display_name); "
    "INSERT INTO user_fts(rowid, display_name) VALUES (new.id, new.display_name); END",
    "INSERT INTO user_fts(user_fts) VALUES ('rebuild')",
)


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
    if op.get_bind().dialect.name == "postgresql":
        # A stored generated column: computed for every existing row now, and on every write.
        op.execute(
            f"ALTER TABLE post ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({PG_VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_post_search_vector ON post USING gin (search_vector)")
        op.execute(
            'CREATE INDEX ix_user_display_name_search ON "user" '
            "USING gin (to_tsvector('simple'::regconfig, display_name))"
        )
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_user_display_name_search")
        op.execute("DROP INDEX ix_post_search_vector")
        op.execute("ALTER TABLE post DROP COLUMN search_vector")
    else:
        for table in ("post_fts", "user_fts"):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_{event}")
            op.execute(f"DROP TABLE {table}")
    op.drop_table("post_tag")  # its index goes with it
