"""What a selection leaves out, and why: `--all` names every table of the user's schemas it does
not convert, `--exclude` the keys the user chose, `--skip-blocked` the keys something blocks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .model import QualifiedName
from .problems import Problem


class Reason(StrEnum):
    # In the order inspect lists them: what the user can act on first.
    BLOCKED = "blocked"  # its closure has a blocker (--skip-blocked)
    EXCLUDED = "excluded"  # --exclude
    NOT_INTEGER = "not integer"  # numeric, text, uuid keys
    NO_KEY = "no key"  # no primary key, or a composite one
    FRAMEWORK = "framework"  # Django's own tables
    EXTENSION = "extension"  # an extension's tables


@dataclass(frozen=True)
class LeftOut:
    """One table whose key a selection does not convert."""

    table: QualifiedName
    column: str | None  # the key column, when the table has one
    type: str | None  # its type
    reason: Reason
    detail: str  # one sentence: why
    problems: tuple[Problem, ...] = ()  # blocked: every blocking problem of its closure
    node: tuple[int, int] | None = None  # blocked: its key column (table oid, attnum)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.table.schema,
            "table": self.table.name,
            "column": self.column,
            "type": self.type,
            "reason": str(self.reason),
            "detail": self.detail,
            "problems": [
                {"severity": str(p.severity), "what": p.what, "name": p.name, "reason": p.reason}
                for p in self.problems
            ],
        }
