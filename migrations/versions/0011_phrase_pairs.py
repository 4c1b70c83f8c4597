"""word pairs for phrase search on PostgreSQL: each post's adjacent words, hashed, in a stored
column with a GIN index, so that a phrase reads only the posts that have its pairs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# As 0007's search_vector reads the text: ASCII punctuation is a space.
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
TRANSLATED = "translate(body, '{}', '{}')".format(
    PUNCTUATION.replace("'", "''"), " " * len(PUNCTUATION)
)
# Each two words that follow each other ("the river" in "by the river"), from the same parser
# as search_vector, as hashtext(first || ' ' || second). Search applies the same function to a
# phrase: the posts holding all its pairs are the few a phrase check must read. Hashes keep
# the column small (4 bytes a pair); a collision only adds a post that the check then drops.
# (hashtext is what hash indexes are built on, which pg_upgrade keeps as they are: a
# PostgreSQL that computed it otherwise would need this column recomputed.)
FUNCTION = f"""
CREATE FUNCTION post_word_pairs(body text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT coalesce(array_agg(DISTINCT hashtext(w.previous || ' ' || w.lexeme)), '{{}}')
FROM (
    SELECT t.lexeme, p.pos,
           lag(t.lexeme) OVER (ORDER BY p.pos) AS previous,
           lag(p.pos) OVER (ORDER BY p.pos) AS previous_pos
    FROM unnest(to_tsvector('simple'::regconfig, {TRANSLATED})) AS t,
         unnest(t.positions) AS p(pos)
) AS w
WHERE w.previous_pos = w.pos - 1
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # FTS5 keeps each word's positions in its index: phrases are quick there
    # Rewriting every post takes longer than the app's statement timeout (about a minute for
    # a million posts): this transaction alone goes without it.
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute(FUNCTION)
    # A stored generated column: computed for every existing post now, and on every write.
    op.execute(
        "ALTER TABLE post ADD COLUMN word_pairs integer[] "
        "GENERATED ALWAYS AS (post_word_pairs(body)) STORED"
    )
    op.execute("CREATE INDEX ix_post_word_pairs ON post USING gin (word_pairs)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_post_word_pairs")
    op.execute("ALTER TABLE post DROP COLUMN word_pairs")
    op.execute("DROP FUNCTION post_word_pairs(text)")
