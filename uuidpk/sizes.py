"""Memory sizes as users write them (`256MB`, `1GB`, a bare number of megabytes) turned into the
exact text PostgreSQL's settings take. PostgreSQL reads a bare `maintenance_work_mem = 256` as
256 kilobytes; uuidpk's help says megabytes, so the unit is always written out."""

from __future__ import annotations

import re

from .errors import UsageProblem

# Units as PostgreSQL spells them for memory settings (case-sensitive there, not here), with
# their size in kilobytes.
_UNITS = {"kb": ("kB", 1), "mb": ("MB", 1024), "gb": ("GB", 1024**2), "tb": ("TB", 1024**3)}
_SIZE = re.compile(r"\A\s*(\d+)\s*([a-z]*)\s*\Z")
# maintenance_work_mem's range in kilobytes (1MB .. MAX_KILOBYTES on a 64-bit server).
_MIN_KB, _MAX_KB = 1024, 2**31 - 1


def setting(text: str, what: str = "size") -> str:
    """`256MB` -> "256MB", `2` -> "2MB". Refused: unknown units, outside PostgreSQL's range
    for maintenance_work_mem (1MB to 2TB)."""
    match = _SIZE.match(text.lower())
    if not match or match.group(2) not in ("", *_UNITS):
        raise UsageProblem(f"{what} {text!r}: write a number with a unit (kB, MB, GB), e.g. 256MB")
    unit, kilobytes = _UNITS[match.group(2) or "mb"]
    value = int(match.group(1))
    if not _MIN_KB <= value * kilobytes <= _MAX_KB:
        raise UsageProblem(f"{what} {text!r}: PostgreSQL takes 1MB to 2TB")
    return f"{value}{unit}"
