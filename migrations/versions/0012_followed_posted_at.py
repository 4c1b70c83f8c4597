"""each follow row carries when the followed person last posted, kept by triggers: a first
timeline page reads the few people followed who posted last, not everyone followed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# As microblog/social/models.py has them (tests/social/test_timeline_newest.py checks both):
# a post updates the follow rows of an author with at most FANOUT_LIMIT followers; the rows
# of one with more say EVERYONE_READS, and every timeline that follows them reads their posts.
FANOUT_LIMIT = 1000
EVERYONE_READS = {
    "sqlite": "'9999-12-31 00:00:00.000000'",  # as SQLAlchemy stores a DATETIME there
    "postgresql": "'9999-12-31 00:00:00+00'::timestamptz",
}


def _newest(author):
    return f"(SELECT max(created_at) FROM post WHERE user_id = {author})"


def _crowded(author):
    # More than FANOUT_LIMIT followers, read from at most that many index entries.
    crowd = (
        f"SELECT 1 FROM follow AS f WHERE f.followed_id = {author} LIMIT 1 OFFSET {FANOUT_LIMIT}"
    )
    return f"EXISTS ({crowd})"


def _not_everyone(everyone):
    # Two ranges of ix_follow_followed_id_followed_posted_at, never the person's every row.
    return f"(followed_posted_at IS NULL OR followed_posted_at < {everyone})"


def _sqlite_triggers():
    everyone, newest, crowded = EVERYONE_READS["sqlite"], _newest, _crowded
    # A new or moved follow row takes its person's value; past the limit, all their rows do.
    follow_body = (
        f"UPDATE follow SET followed_posted_at = {newest('NEW.followed_id')} "
        "WHERE follower_id = NEW.follower_id AND followed_id = NEW.followed_id; "
        f"UPDATE follow SET followed_posted_at = {everyone} "
        f"WHERE followed_id = NEW.followed_id AND {crowded('NEW.followed_id')} "
        f"AND {_not_everyone(everyone)}; "
    )
    # A post leaving its author (deleted, emptied, moved) lowers their rows if it was the
    # newest; a post arriving raises them, unless the author has too many followers for that.
    leave = (
        f"UPDATE follow SET followed_posted_at = {newest('OLD.user_id')} "
        "WHERE followed_id = OLD.user_id AND followed_posted_at = OLD.created_at; "
    )
    arrive = (
        "UPDATE follow SET followed_posted_at = NEW.created_at "
        f"WHERE followed_id = NEW.user_id AND NOT {crowded('NEW.user_id')} "
        "AND (followed_posted_at IS NULL OR followed_posted_at < NEW.created_at); "
    )
    return (
        f"CREATE TRIGGER follow_posted_at_insert AFTER INSERT ON follow BEGIN {follow_body}END",
        "CREATE TRIGGER follow_posted_at_update AFTER UPDATE OF followed_id ON follow "
        f"BEGIN {follow_body}END",
        "CREATE TRIGGER post_posted_at_insert AFTER INSERT ON post "
        f"WHEN NEW.user_id IS NOT NULL BEGIN {arrive}END",
        "CREATE TRIGGER post_posted_at_delete AFTER DELETE ON post "
        f"WHEN OLD.user_id IS NOT NULL BEGIN {leave}END",
        f"CREATE TRIGGER post_posted_at_update AFTER UPDATE OF user_id, created_at ON post "
        f"BEGIN {leave}{arrive}END",
    )


def _postgresql_triggers():
    everyone, newest, crowded = EVERYONE_READS["postgresql"], _newest, _crowded
    # The author's user row is locked first (a follow shares the lock, a post takes it
    # alone): a follow and a post by the same person at once would otherwise each miss the
    # other's uncommitted row. The statements after the lock see what it waited for.
    follow_function = f"""
CREATE FUNCTION follow_posted_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM "user" WHERE id = NEW.followed_id FOR SHARE;
  IF {crowded("NEW.followed_id")} THEN
    UPDATE follow SET followed_posted_at = {everyone}
    WHERE followed_id = NEW.followed_id AND {_not_everyone(everyone)};
  ELSE
    UPDATE follow SET followed_posted_at = {newest("NEW.followed_id")}
    WHERE follower_id = NEW.follower_id AND followed_id = NEW.followed_id;
  END IF;
  RETURN NULL;
END $$
"""
    post_function = f"""
CREATE FUNCTION post_posted_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.user_id IS NOT NULL THEN
    PERFORM 1 FROM "user" WHERE id = OLD.user_id FOR NO KEY UPDATE;
    UPDATE follow SET followed_posted_at = {newest("OLD.user_id")}
    WHERE followed_id = OLD.user_id AND followed_posted_at = OLD.created_at;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.user_id IS NOT NULL THEN
    PERFORM 1 FROM "user" WHERE id = NEW.user_id FOR NO KEY UPDATE;
    IF NOT {crowded("NEW.user_id")} THEN
      UPDATE follow SET followed_posted_at = NEW.created_at
      WHERE followed_id = NEW.user_id
        AND (followed_posted_at IS NULL OR followed_posted_at < NEW.created_at);
    END IF;
  END IF;
  RETURN NULL;
END $$
"""
    return (
        follow_function,
        "CREATE TRIGGER follow_posted_at AFTER INSERT OR UPDATE OF followed_id ON follow "
        "FOR EACH ROW EXECUTE FUNCTION follow_posted_at()",
        post_function,
        "CREATE TRIGGER post_posted_at AFTER INSERT OR DELETE OR UPDATE OF user_id, created_at "
        "ON post FOR EACH ROW EXECUTE FUNCTION post_posted_at()",
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("SET LOCAL statement_timeout = 0")  # the backfill reads every follow row
    op.add_column("follow", sa.Column("followed_posted_at", sa.DateTime(timezone=True)))
    everyone = EVERYONE_READS[dialect]
    op.execute(
        f"UPDATE follow SET followed_posted_at = CASE WHEN {_crowded('follow.followed_id')} "
        f"THEN {everyone} ELSE {_newest('follow.followed_id')} END"
    )
    op.create_index(
        "ix_follow_follower_id_followed_posted_at",
        "follow",
        ["follower_id", "followed_posted_at", "followed_id"],
    )
    # The triggers' way to the rows a post or a follow changes, however many followers.
    op.create_index(
        "ix_follow_followed_id_followed_posted_at", "follow", ["followed_id", "followed_posted_at"]
    )
    for statement in _sqlite_triggers() if dialect == "sqlite" else _postgresql_triggers():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in ("follow_posted_at_insert", "follow_posted_at_update"):
            op.execute(f"DROP TRIGGER {name}")
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER post_posted_at_{event}")
    else:
        op.execute("DROP TRIGGER post_posted_at ON post")
        op.execute("DROP TRIGGER follow_posted_at ON follow")
        op.execute("DROP FUNCTION post_posted_at()")
        op.execute("DROP FUNCTION follow_posted_at()")
    op.drop_index("ix_follow_followed_id_followed_posted_at", table_name="follow")
    op.drop_index("ix_follow_follower_id_followed_posted_at", table_name="follow")
    op.drop_column("follow", "followed_posted_at")
