"""SQL templates: catalog queries and migration statement shapes, kept as .sql files.

In a source checkout they live in the top-level sql_templates/; a built wheel carries them as
uuidpk/sql_templates/ (mapped by pyproject.toml).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from psycopg import sql

_CANDIDATES = (
    Path(__file__).parent / "sql_templates",
    Path(__file__).parent.parent / "sql_templates",
)


def root() -> Path:
    """The directory that holds the templates."""
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("sql_templates/ not found next to the uuidpk package")


@cache
def load(name: str) -> str:
    """The text of one template, e.g. load("catalog/tables.sql")."""
    return (root() / name).read_text(encoding="utf-8")


def names() -> list[str]:
    """Every template, as paths relative to the template root."""
    base = root()
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*.sql"))


def statement(name: str) -> sql.SQL:
    """A template without its `--` header, ready for sql.SQL.format()."""
    lines = load(name).splitlines()
    return sql.SQL("\n".join(line for line in lines if not line.startswith("--")).strip())
