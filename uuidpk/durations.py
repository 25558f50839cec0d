"""Durations as users write them (`10s`, `500ms`, `2min`, a bare number of seconds) turned into
the exact text PostgreSQL's settings take. PostgreSQL reads a bare `lock_timeout = 2` as 2
milliseconds; uuidpk's help says seconds, so the unit is always written out."""

from __future__ import annotations

import re

from .errors import UsageProblem

# Units as PostgreSQL spells them for time settings, with their length in milliseconds.
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0, "d": 86_400_000.0}
_DURATION = re.compile(r"\A\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*\Z")


def milliseconds(text: str, what: str = "duration") -> int:
    """`10s` -> 10000. A bare number means seconds. Refused: negative, unknown units, over a
    day-sized int32 (PostgreSQL's limit for these settings)."""
    match = _DURATION.match(text.lower())
    if not match or match.group(2) not in ("", *_UNITS):
        units = ", ".join(_UNITS)
        raise UsageProblem(f"{what} {text!r}: write a number with a unit ({units}), e.g. 10s")
    value = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if value > 2**31 - 1:
        raise UsageProblem(f"{what} {text!r} is longer than PostgreSQL allows (about 24 days)")
    return round(value)


def setting(text: str, what: str = "duration") -> str:
    """The value to SET: always with its unit, so PostgreSQL cannot read it as milliseconds."""
    return f"{milliseconds(text, what)}ms"
