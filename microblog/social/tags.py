"""Hashtags: which words of a post are tags, their one spelling, and storing a post's tags."""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa

from ..extensions import db
from .models import Post, PostTag

TAG_MAX_CHARS = 64  # the width of the post_tag.tag column
# What may follow a # in a tag: anything but spaces and ASCII punctuation other than _ (the
# run is then cut at the first character that is not a letter, digit or mark: tag_part).
TAG_RUN = r"[^\s!-/:-@\[-^`{-~]+"


def tag_part(run: str) -> str:
    """Return the tag at the start of what follows a #: letters, digits, marks and _, not all
    digits or _ ("#2024" is a year, "#__" nothing); "" if there is none."""
    end = 0
    while end < len(run) and (run[end] == "_" or unicodedata.category(run[end])[0] in "LNM"):
        end += 1
    tag = run[:end]
    if not any(unicodedata.category(c)[0] in "LM" for c in tag):
        return ""
    return tag if len(normalise(tag)) <= TAG_MAX_CHARS else ""


def normalise(tag: str) -> str:
    """Return the one spelling a tag is stored and looked up by: composed, lowercase.

    Lowercase, not case-folded: as both search engines index words (#Straße stays straße).
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", tag).lower())


def store_tags(post: Post, tags: set[str]) -> None:
    """Replace the tags stored for a post with these (text.hashtags of its body). Not committed."""
    db.session.execute(sa.delete(PostTag).where(PostTag.post_id == post.id))
    db.session.add_all(
        PostTag(post_id=post.id, tag=tag, created_at=post.created_at) for tag in sorted(tags)
    )


def tagged_query(query: sa.Select[Post], tag: str | sa.BindParameter[str]) -> sa.Select[Post]:
    """Restrict a posts query to the posts carrying tag (normalised, or a bound parameter)."""
    return query.join(PostTag, PostTag.post_id == Post.id).where(PostTag.tag == tag)
