"""Log lines that stay single lines and keep personal data out: for text from outside."""

from __future__ import annotations

import re

MAX_LOGGED_CHARS = 500
# C0 and C1 controls (CR and LF among them), the Unicode line separators, and the bidi
# controls that rearrange a line as it is displayed.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
EMAIL = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+")


def escape_for_log(value: object) -> str:
    """Return value as one printable line of bounded length, control characters escaped."""
    text = UNSAFE.sub(_escaped, str(value))
    return text if len(text) <= MAX_LOGGED_CHARS else text[:MAX_LOGGED_CHARS] + "..."


def loggable(value: object) -> str:
    """Return text from a provider or a person fit for a log line: one line, no email address."""
    return escape_for_log(EMAIL.sub("[email]", str(value)))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
