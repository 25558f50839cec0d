"""What verify reports: one difference from the fingerprint, naming the object and what changed,
with the recorded and the current value where there are such (for --format json)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Difference:
    what: str  # table, foreign key, column, sequence, view, trigger, comment, privileges, ...
    name: str
    detail: str
    was: Any = None  # the recorded value (JSON), when the difference is one of a definition
    now: Any = None  # the value now; None also when the object is gone

    def __str__(self) -> str:
        return f"{self.what} {self.name}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        found = {"what": self.what, "name": self.name, "detail": self.detail}
        if self.was is not None or self.now is not None:
            found.update(was=self.was, now=self.now)
        return found


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
