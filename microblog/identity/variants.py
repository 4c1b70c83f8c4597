"""Presets that speak OpenID Connect with rules of their own: Microsoft and Apple.

Their providers keep the kind `oidc` (everything that holds for OpenID Connect holds for
them); this module finds the object that knows their differences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .apple import Apple
from .kinds import KINDS, Kind
from .microsoft import Microsoft

if TYPE_CHECKING:
    from .providers import Provider

VARIANTS: dict[str, Kind] = {"microsoft": Microsoft(), "apple": Apple()}


def variant_for(preset: str | None) -> Kind | None:
    """The object for a preset with rules of its own, or None."""
    return VARIANTS.get(preset or "")


def kind_of(p: Provider) -> Kind:
    """The object that knows how p differs: its preset's, else its kind's."""
    return variant_for(p.preset) or KINDS[p.kind]
