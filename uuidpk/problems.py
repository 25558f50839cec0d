"""What the analysis finds in the way of a conversion, and how serious it is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """From harmless to fatal (the order of the members is that order, reversed)."""

    NOTE = "note"  # worth knowing (ordering by the old key), asks nothing of the user
    HANDLED = "handled"  # PostgreSQL would refuse, the plan takes care of it
    WARNING = "warning"  # PostgreSQL will not refuse; something may break later
    BLOCKER = "blocker"  # the plan cannot handle it yet: nothing runs until the user does
    REFUSED = "refused"  # this key cannot be converted at all

    @property
    def blocks(self) -> bool:
        """Nothing runs while a problem of this severity stands."""
        return self in (Severity.BLOCKER, Severity.REFUSED)


@dataclass(frozen=True)
class Problem:
    severity: Severity
    what: str  # view, policy, identity, default, ...
    name: str  # the object, qualified where that helps
    reason: str
    # A blocker only while the new keys do not keep the old order: --uuid v7 from the old ids
    # (no --order-by) keeps it, and the plan then handles it.
    unless_ordered: bool = False
