"""The schema a migration leaves on the tables it measured, as a later verify holds the database
to it: the record's versions, and each difference between the record and the catalog now,
worded so that it names the object and what changed.

The record is schema_objects.sql's rows, taken just before the offline migration commits, or at
the end of an online one: constraints (with the state of the triggers enforcing them), indexes,
defaults and identity, NOT NULL, column types with their modifiers and collation, triggers with
their state, rules, policies and row security, the definitions of the views and materialized
views reading those tables, options, owners, privileges (of relations and of columns) and
comments. Objects added since are no loss and are not reported; a relation, column or object
that is gone is reported once, not once per thing it took along.

Versions (uuidpk.fingerprint_run.schema_after):
    1  a JSON array of constraints, indexes, defaults and NOT NULL (uuidpk before this record)
    2  {"version": 2, "objects": [...]}: every kind above
A version 1 record is compared for what it holds; a later version than this uuidpk reads is
refused, naming both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .differences import Difference
from .errors import VerificationFailed
from .model import QualifiedName
from .naming import display_name, quote_if_needed

VERSION = 2
READ_VERSIONS = (1, 2)

# What a version 1 record did not hold, for the note verify makes on one.
NOT_IN_VERSION_1 = (
    "column types, triggers, views, rules, policies, options, owners, privileges and comments"
)

# Objects that belong to a relation under a name of their own: a comment on one goes with it.
_NAMED_OBJECTS = ("constraint", "index", "trigger", "rule", "policy")
# Objects that are a column's.
_COLUMN_OBJECTS = ("default", "not null", "type")

# Key = (what, of, schema, table, name): see schema_objects.sql.
Key = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class SchemaRecord:
    version: int
    objects: tuple[dict[str, Any], ...]

    @classmethod
    def from_json(cls, data: Any) -> SchemaRecord:
        if isinstance(data, list):
            return cls(1, tuple(data))
        return cls(int(data.get("version", 0)), tuple(data.get("objects") or ()))

    def readable(self, run_id: int) -> SchemaRecord:
        """Itself, or VerificationFailed when this uuidpk cannot read its version."""
        if self.version not in READ_VERSIONS:
            readable = ", ".join(str(v) for v in READ_VERSIONS)
            raise VerificationFailed(
                f"fingerprint run {run_id} holds a schema record of version {self.version}; "
                f"this uuidpk reads versions {readable}: verify with the uuidpk that made it "
                "or a newer one"
            )
        return self


def key(item: Mapping[str, Any]) -> Key:
    return (item["what"], item.get("of", ""), item["schema"], item["table"], item["name"])


def _relation(item: Mapping[str, Any]) -> str:
    return display_name(QualifiedName(item["schema"], item["table"]))


def _owner_of(item: Mapping[str, Any]) -> tuple[str, str]:
    """(what, name) of the object a row describes, as a difference names it."""
    relation, of, name = _relation(item), item.get("of", ""), item["name"]
    if of == "column":
        return "column", f"{relation}.{quote_if_needed(name)}"
    if of in _NAMED_OBJECTS:
        return of, f"{quote_if_needed(name)} on {relation}"
    return of, relation


def _object(item: Mapping[str, Any]) -> tuple[str, str]:
    """(what, name) of a difference in this row."""
    what = item["what"]
    if what in _COLUMN_OBJECTS:
        return "column", f"{_relation(item)}.{quote_if_needed(item['name'])}"
    if what in _NAMED_OBJECTS:
        return what, f"{quote_if_needed(item['name'])} on {_relation(item)}"
    if what == "view":
        return _owner_of(item)
    kind, name = _owner_of(item)
    preposition = "of" if what in ("owner", "options") else "on"
    return what, f"{preposition} {kind} {name}"


def _gone(recorded: Iterable[Mapping[str, Any]], now: Mapping[Key, Any]) -> set[tuple[str, ...]]:
    """The relations, columns and named objects of the record that are no longer there: each is
    one difference, and what went with it (a dropped table's indexes, a dropped column's NOT
    NULL, a dropped trigger's comment) is not reported again."""
    gone: set[tuple[str, ...]] = set()
    for item in recorded:
        if key(item) in now:
            continue
        what, schema, table, name = item["what"], item["schema"], item["table"], item["name"]
        if what == "owner":  # every relation of a version 2 record has one
            gone.add(("relation", schema, table))
        elif what == "type":  # every column of a table has one
            gone.add(("column", schema, table, name))
        elif what in _NAMED_OBJECTS:
            gone.add((what, schema, table, name))
    return gone


def _went_along(item: Mapping[str, Any], gone: set[tuple[str, ...]]) -> bool:
    """Whether this row is gone only because what it belongs to is gone (and is reported)."""
    what, of = item["what"], item.get("of", "")
    schema, table, name = item["schema"], item["table"], item["name"]
    if ("relation", schema, table) in gone and what != "owner":
        return True
    if ("column", schema, table, name) in gone and what != "type":
        return what in _COLUMN_OBJECTS or of == "column"
    return of in _NAMED_OBJECTS and (of, schema, table, name) in gone


def compare(
    recorded: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
) -> list[Difference]:
    """Each difference between the record and the catalog now (schema_objects.sql's rows)."""
    now = {key(item): item for item in current}
    gone = _gone(recorded, now)
    differences = []
    for item in recorded:
        found = now.get(key(item))
        if found is None:
            if not _went_along(item, gone):
                differences.append(_missing(item))
            continue
        if found["definition"] != item["definition"]:
            differences.append(_changed(item, found))
        elif "enabled" in item and found.get("enabled") != item["enabled"]:
            differences.append(_state(item, found))
    return differences


# -- wording -----------------------------------------------------------------------------------
def _missing(item: Mapping[str, Any]) -> Difference:
    what, name = _object(item)
    was = item["definition"]
    kind = item["what"]
    if kind == "owner":  # the relation is gone
        what, name = _owner_of(item)
        detail = "missing"
    elif kind == "not null":
        detail = "NOT NULL was dropped"
    elif kind == "default":
        detail = f"default {was} was dropped"
    elif kind == "type":
        detail = f"missing (it was {was})"
    elif kind == "comment":
        detail = f"dropped (it was {_quoted(was)})"
    elif kind == "privileges":
        detail = f"every privilege was revoked ({_privileges(was, [])})"
    elif kind == "options":
        detail = f"reset (they were {', '.join(was)})"
    elif kind == "row security":
        detail = f"disabled (it was {was})"
    else:
        detail = f"missing (it was {_text(kind, was)})"
    return Difference(what, name, detail, was, None)


def _changed(item: Mapping[str, Any], found: Mapping[str, Any]) -> Difference:
    what, name = _object(item)
    was, now = item["definition"], found["definition"]
    kind = item["what"]
    if kind == "default":
        detail = f"default is now {now}; it was {was}"
    elif kind == "type":
        detail = f"type is now {now}; it was {was}"
    elif kind == "privileges":
        detail = _privileges(was, now)
    elif kind == "options":
        detail = f"now {', '.join(now)}; they were {', '.join(was)}"
    elif kind == "comment":
        detail = f"now {_quoted(now)}; it was {_quoted(was)}"
    elif kind == "view":
        detail = f"definition changed: {_text_change(was, now)}"
    else:
        detail = f"now {_text(kind, now)}; it was {_text(kind, was)}"
    return Difference(what, name, detail, was, now)


_STATES = {
    "enabled": "enabled",
    "disabled": "disabled",
    "replica": "enabled only in sessions with session_replication_role = replica",
    "always": "enabled always, replicas included",
}


def _state(item: Mapping[str, Any], found: Mapping[str, Any]) -> Difference:
    what, name = _object(item)
    was, now = item["enabled"], found.get("enabled")
    if item["what"] == "constraint":
        detail = (
            f"the triggers that enforce it are {_state_word(now)}; they were {_state_word(was)}"
        )
    else:
        detail = f"{_state_word(now)}; it was {_state_word(was)}"
    return Difference(what, name, detail, was, now)


def _state_word(state: str | None) -> str:
    if state is None:
        return "gone"
    return _STATES.get(state, state)


# Policies' commands as pg_policy.polcmd has them.
_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


def _text(kind: str, definition: Any) -> str:
    """A definition as one line of text."""
    if kind == "policy" and isinstance(definition, dict):
        parts = [
            "PERMISSIVE" if definition.get("permissive") else "RESTRICTIVE",
            f"FOR {_COMMANDS.get(definition.get('command', ''), definition.get('command'))}",
            "TO " + ", ".join(_grantee(r) for r in definition.get("roles", ())),
        ]
        if definition.get("using") is not None:
            parts.append(f"USING ({definition['using']})")
        if definition.get("check") is not None:
            parts.append(f"WITH CHECK ({definition['check']})")
        return " ".join(parts)
    if isinstance(definition, str):
        text = " ".join(definition.split())
        return text.removesuffix(";") if kind == "view" else text
    return json.dumps(definition, ensure_ascii=False)


_SHORT = 160  # a definition longer than this is shown around its first change
_CONTEXT = 40


def _text_change(was: Any, now: Any) -> str:
    """A changed definition: whole when short, else around the first character that differs
    (the whole texts are in --format json)."""
    before, after = _text("view", was), _text("view", now)
    if len(before) <= _SHORT and len(after) <= _SHORT:
        return f"now {after}; it was {before}"
    at = next(
        (i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a),
        min(len(before), len(after)),
    )
    start = max(0, at - _CONTEXT)

    def around(text: str) -> str:
        head = "..." if start else ""
        tail = "..." if start + 3 * _CONTEXT < len(text) else ""
        return f"{head}{text[start : start + 3 * _CONTEXT]}{tail}"

    return f"now {around(after)}; it was {around(before)} (at character {at + 1})"


def _quoted(text: Any) -> str:
    value = str(text)
    shown = value if len(value) <= _SHORT else value[:_SHORT] + "..."
    return "'" + shown.replace("'", "''") + "'"


def _grantee(role: str) -> str:
    return role if role == "PUBLIC" else quote_if_needed(role)


def _privileges(was: Sequence[Sequence[Any]], now: Sequence[Sequence[Any]]) -> str:
    """Per role, the privileges lost and gained: "app lost SELECT, UPDATE; PUBLIC gained
    SELECT"."""

    def by_role(items: Sequence[Sequence[Any]]) -> dict[str, set[str]]:
        roles: dict[str, set[str]] = {}
        for grantee, privilege, grantable in items:
            held = f"{privilege} WITH GRANT OPTION" if grantable else privilege
            roles.setdefault(grantee, set()).add(held)
        return roles

    before, after = by_role(was), by_role(now)
    parts = []
    for role in sorted(set(before) | set(after)):
        lost = sorted(before.get(role, set()) - after.get(role, set()))
        gained = sorted(after.get(role, set()) - before.get(role, set()))
        if lost:
            parts.append(f"{_grantee(role)} lost {', '.join(lost)}")
        if gained:
            parts.append(f"{_grantee(role)} gained {', '.join(gained)}")
    return "; ".join(parts)
