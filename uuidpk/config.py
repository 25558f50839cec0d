"""The configuration file: a reviewed plan kept in the repository instead of a long command.

`uuidpk.toml` in the current directory (or `[tool.uuidpk]` in its pyproject.toml, or the file
given with --config). Keys are the long option names (`table`/`tables`, `soft-ref`/`soft_refs`,
`lock-timeout`, `uuid`, `dbname`, ...). Top-level keys apply to every command that has that
option; a `[generate]`, `[apply]`, ... table applies to one command and wins over the top level.
Options given on the command line win over both (a repeated option such as --table replaces
the file's list, it does not add to it).

    tables = ["order_order", "product_product"]
    soft_refs = ["public.audit_log.order_ref=order_order"]
    uuid = "v7"
    order-by = "created_at"
    lock-timeout = "5s"

    [apply]
    verify = true

The file feeds click's default_map, so every option of every command (present and future) can
be set without this module knowing it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import click

from .errors import UsageProblem

FILE_NAME = "uuidpk.toml"


def find(explicit: str | None, directory: Path) -> tuple[Path, dict[str, Any]] | None:
    """The settings and the file they came from: --config, else uuidpk.toml, else
    pyproject.toml's [tool.uuidpk], in `directory`; None when there is none."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageProblem(f"--config {explicit}: no such file")
        settings = _read(path)
        if path.name == "pyproject.toml":
            settings = settings.get("tool", {}).get("uuidpk", {})
        return path, settings
    own = directory / FILE_NAME
    if own.is_file():
        return own, _read(own)
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        section = _read(pyproject).get("tool", {}).get("uuidpk")
        if section is not None:
            return pyproject, section
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageProblem(f"{path}: {exc}") from None


def _normal(key: str) -> str:
    return key.replace("-", "_").lower()


def _names(command: click.Command) -> dict[str, click.Parameter]:
    """Every name a setting may use for an option of this command: the parameter's own name
    and its long option names, dashes or underscores alike."""
    names: dict[str, click.Parameter] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name is None or param.name == "help":
            continue
        names[_normal(param.name)] = param
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("--"):
                names[_normal(opt[2:])] = param
    return names


def _value(param: click.Parameter, value: Any, where: str) -> Any:
    if param.multiple:
        if isinstance(value, str):
            return [value]  # a single table written without brackets
        if not isinstance(value, list):
            raise UsageProblem(f"{where}: expected a list of strings")
    if isinstance(value, dict):
        raise UsageProblem(f"{where}: expected a value, not a table")
    return value


def _refuse_secrets(settings: dict[str, Any], source: Path) -> None:
    """A password in a file kept in the repository is a leak; and `password` is -W's flag,
    whose error message would quote the value. Refused without quoting it."""
    for key, value in settings.items():
        if isinstance(value, dict):
            _refuse_secrets(value, source)
        elif _normal(key) in ("password", "ask_password"):
            raise UsageProblem(
                f"{source}: no password in the config file: use -W, PGPASSWORD or ~/.pgpass"
            )


def default_map(group: click.Group, settings: dict[str, Any], source: Path) -> dict[str, Any]:
    """click's default_map for the group: {command: {parameter: value}}. A key that no
    command knows is refused (a typo would otherwise be ignored in silence)."""
    _refuse_secrets(settings, source)
    commands = {name: _names(command) for name, command in group.commands.items()}
    result: dict[str, dict[str, Any]] = {name: {} for name in commands}
    known: set[str] = set()
    for key, value in settings.items():
        if isinstance(value, dict) and key in commands:
            continue  # a command's own table, below
        for name, params in commands.items():
            param = params.get(_normal(key))
            if param is not None:
                known.add(key)
                result[name][str(param.name)] = _value(param, value, f"{source}: {key}")
        if key not in known:
            raise UsageProblem(f"{source}: no command has an option {key!r}")
    for name, section in settings.items():
        if not (isinstance(section, dict) and name in commands):
            continue
        for key, value in section.items():
            param = commands[name].get(_normal(key))
            if param is None:
                raise UsageProblem(f"{source}: [{name}] has no option {key!r}")
            result[name][str(param.name)] = _value(param, value, f"{source}: [{name}] {key}")
    return {name: values for name, values in result.items() if values}
