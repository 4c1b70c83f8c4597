"""Text that reads as something else: bidi controls, stacks of combining marks; display names."""

from __future__ import annotations

import unicodedata

# Controls that reorder the text around them (embeddings, overrides, isolates, marks): nothing
# typed here needs them to read right, and with them `https://evil.example/\u202egro.elpmaxe...`
# reads as another address. Removed when text is cleaned, and again when stored text is shown.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Combining marks kept on one character: more than any script writes, far fewer than the
# hundreds stacked to spill a post over the page.
MAX_MARKS = 4
DISPLAY_NAME_MAX = 50  # the width of the user.display_name column


def neutralise(text: str) -> str:
    """Return text trimmed, without bidi controls, and with at most MAX_MARKS marks a character."""
    if text.isascii():
        return text.strip()
    kept: list[str] = []
    marks = 0
    for c in text:
        if c in BIDI_CONTROLS:
            continue
        if unicodedata.category(c) in ("Mn", "Me", "Mc"):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        kept.append(c)
    return "".join(kept).strip()


def clean_line(raw: str | None) -> str:
    """Return raw as one tidy line: composed, no control characters, single spaces."""
    text = unicodedata.normalize("NFC", raw or "")
    text = "".join(c if unicodedata.category(c) != "Cc" else " " for c in text)
    return " ".join(neutralise(text).split())


def display_name_from(raw: str | None) -> str:
    """Return a provider's name for someone as a display name: one tidy line, cut to fit."""
    return clean_line(raw)[:DISPLAY_NAME_MAX].strip()
