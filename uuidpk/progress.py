"""Progress of a running conversion, for people and for automation.

The executor reports events (a step starts, a table's rewrite starts, a step ends, the
transaction commits); a reporter shows them:
    live     one line repainted in place, on a terminal (stderr is a tty)
    plain    one line per event, when stderr is a file or a pipe (CI logs)
    json     one JSON object per line (--log-format json), for automation
    quiet    nothing but warnings (--quiet); errors are cli.py's
While a statement runs, a second connection can read what PostgreSQL reports about the main
one: pg_stat_progress_create_index (the indexes ALTER COLUMN ... TYPE rebuilds) and
pg_stat_progress_cluster. PostgreSQL reports nothing for the table rewrite itself, so its ETA
comes from the table sizes and the rate measured on the tables already done (at first, the
rate `estimate` assumes).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import psycopg

from . import templates
from .safe_text import for_terminal

# Bytes per second an offline conversion gets through, over the sum of the closure tables'
# sizes (heap, indexes, TOAST): table rewrites, index rebuilds, foreign key validation and the
# fingerprint, lock to commit. Measured with the demo's shop at 30,000 orders (25.8 MB, locked
# 3.4 s with --verify: 7.6 MB/s; the rewrites alone 12-19 MB/s) on a 2-core machine shared
# with other jobs, PostgreSQL 15. A first guess that `apply --dry-run` on a copy replaces.
ASSUMED_RATE = 8 * 1024 * 1024


@dataclass(frozen=True)
class Event:
    """One thing the executor did. kind: start, step, table, step_done, locked, committed,
    rolled_back, message, server."""

    kind: str
    step: str | None = None
    index: int | None = None  # 1-based step number
    steps: int | None = None
    statements: int | None = None
    table: str | None = None
    bytes: int | None = None  # the table's size
    bytes_done: int | None = None  # of the step's tables, before this one
    bytes_total: int | None = None  # of the step's tables
    seconds: float | None = None
    message: str | None = None
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        fields = {k: v for k, v in asdict(self).items() if v is not None}
        fields["at"] = round(self.at, 3)
        if self.seconds is not None:
            fields["seconds"] = round(self.seconds, 3)
        return fields


Listener = Callable[[Event], None]


def size(n: float) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    minutes, rest = divmod(round(s), 60)
    return f"{minutes} min {rest:02d} s"


def estimate_seconds(total_bytes: int, rate: float = ASSUMED_RATE) -> float:
    return total_bytes / rate


class ServerProgress:
    """What PostgreSQL reports about another backend's long command, read on a connection
    of its own (the main one is busy running the statement)."""

    def __init__(self, open_connection: Callable[[], psycopg.Connection], pid: int):
        self._open = open_connection
        self._pid = pid
        self._conn: psycopg.Connection | None = None
        self._failed = False

    def read(self) -> str | None:
        """'index x: building index: scanning table 40%' or None when nothing is reported."""
        if self._failed:
            return None
        try:
            if self._conn is None:
                self._conn = self._open()
            row = self._conn.execute(
                templates.statement("catalog/server_progress.sql"), {"pid": self._pid}
            ).fetchone()
        except psycopg.Error:
            self._failed = True  # progress is a nicety: never let it stop the conversion
            return None
        if row is None:
            return None
        relation, phase, done, total = row
        share = f" {100 * done / total:.0f}%" if total else ""
        return f"{relation}: {phase}{share}"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


class Reporter:
    """Base: keeps the state of the run and, while a statement runs, wakes every `every`
    seconds to show where it is (tick)."""

    every = 1.0

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.server: ServerProgress | None = None
        self.current: Event | None = None  # the step or table running
        self.current_since = 0.0
        self.done_bytes = 0  # of tables finished in this run
        self.done_seconds = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- wiring ---------------------------------------------------------------------------
    def watch(self, server: ServerProgress) -> None:
        self.server = server

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.kind in ("table", "step"):
                self._finish_table(event.at)
                self.current, self.current_since = event, event.at
            elif event.kind in ("step_done", "committed", "rolled_back"):
                self._finish_table(event.at)
                self.current = None
            self.show(event)
        if event.kind == "start" and self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def note(self, message: str) -> None:
        """A message from the application layer (fingerprint taken, verified, ...)."""
        self(Event("message", message=message))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.server is not None:
            self.server.close()

    def _finish_table(self, now: float) -> None:
        current = self.current
        if current is not None and current.kind == "table" and current.bytes:
            self.done_bytes += current.bytes
            self.done_seconds += now - self.current_since

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            running = self.current
            if running is None:
                continue
            server = self.server.read() if self.server is not None else None
            with self._lock:
                if self.current is running:
                    self.tick(running, time.time() - self.current_since, server)

    # -- what a running statement looks like ----------------------------------------------
    @property
    def rate(self) -> tuple[float, bool]:
        """Bytes per second and whether it was measured in this run (else assumed)."""
        if self.done_bytes >= 1024 * 1024 and self.done_seconds > 0.05:
            return self.done_bytes / self.done_seconds, True
        return ASSUMED_RATE, False

    def where(self, running: Event, elapsed: float, server: str | None) -> str:
        """'convert columns: public.t (45.0 MB, table 2 of 5 MB...) 12 s, ~8 s left'."""
        parts = [f"[{running.index}/{running.steps}] {running.step}"]
        if running.kind == "table" and running.table is not None:
            parts[0] += f": {running.table}"
            rate, measured = self.rate
            total = running.bytes_total or 0
            done = (running.bytes_done or 0) + min(elapsed * rate, running.bytes or 0)
            if total:
                left = max(total - done, 0) / rate
                guess = "" if measured else " (assumed rate)"
                parts.append(
                    f"{size(done)} of {size(total)}, {size(rate)}/s{guess}, ~{seconds(left)} left"
                )
        parts.append(f"{seconds(elapsed)}")
        if server:
            parts.append(server)
        return " | ".join(parts)

    # -- to override ------------------------------------------------------------------------
    def show(self, event: Event) -> None:
        raise NotImplementedError

    def tick(self, running: Event, elapsed: float, server: str | None) -> None:
        pass


class Quiet(Reporter):
    def show(self, event: Event) -> None:
        if event.kind == "message" and (event.message or "").startswith("warning"):
            self.stream.write(for_terminal(f"uuidpk: {event.message}") + "\n")


class Plain(Reporter):
    """One line per event: what a log file or a CI job shows. A statement that runs long
    gets a line every `every` seconds."""

    every = 10.0

    def show(self, event: Event) -> None:
        line = _plain(event)
        if line is not None:
            self.stream.write(for_terminal(f"uuidpk: {line}") + "\n")
            self.stream.flush()

    def tick(self, running: Event, elapsed: float, server: str | None) -> None:
        self.stream.write(for_terminal(f"uuidpk:   ... {self.where(running, elapsed, server)}"))
        self.stream.write("\n")
        self.stream.flush()


def _plain(event: Event) -> str | None:
    if event.kind == "step":
        # "<step> (<n> statements)": tests/bench.py times the steps by these lines.
        return f"{event.step} ({event.statements} statements)"
    if event.kind == "table":
        share = ""
        if event.bytes_total:
            share = f"; {size(event.bytes_done or 0)} of {size(event.bytes_total)} done"
        return f"  {event.table} ({size(event.bytes or 0)}{share})"
    if event.kind == "message":
        return event.message
    if event.kind in ("committed", "rolled_back") and event.seconds is not None:
        ended = "commit" if event.kind == "committed" else "rollback"
        return (
            f"the closure's tables were locked {seconds(event.seconds)} "
            f"(from the lock to the {ended}, fingerprint and check included)"
        )
    if event.kind == "done":
        return event.message
    return None


class Live(Plain):
    """A terminal: the running step on one line, repainted; finished steps stay above it."""

    every = 0.25

    def __init__(self, stream: TextIO):
        super().__init__(stream)
        self._painted = False

    def _clear(self) -> None:
        if self._painted:
            self.stream.write("\r\x1b[K")
            self._painted = False

    def show(self, event: Event) -> None:
        self._clear()
        if event.kind in ("step", "table"):
            self._paint(self.where(event, 0.0, None))
        elif event.kind == "step_done" and event.seconds is not None:
            line = f"uuidpk: [{event.index}/{event.steps}] {event.step} ({seconds(event.seconds)})"
            self.stream.write(for_terminal(line) + "\n")
        else:
            super().show(event)
        self.stream.flush()

    def tick(self, running: Event, elapsed: float, server: str | None) -> None:
        self._clear()
        self._paint(self.where(running, elapsed, server))
        self.stream.flush()

    def _paint(self, text: str) -> None:
        width = 118
        line = for_terminal(f"uuidpk: {text}")
        self.stream.write(line[:width])
        self._painted = True


class JsonLines(Reporter):
    """One JSON object per line, on stderr: {"event": "step", "step": ..., "at": ...}."""

    every = 5.0

    def show(self, event: Event) -> None:
        fields = event.to_json()
        line = {"event": fields.pop("kind"), **fields}
        self.stream.write(json.dumps(line) + "\n")
        self.stream.flush()

    def tick(self, running: Event, elapsed: float, server: str | None) -> None:
        rate, measured = self.rate
        fields: dict[str, Any] = {
            "event": "progress",
            "step": running.step,
            "table": running.table,
            "elapsed": round(elapsed, 3),
            "rate": round(rate),
            "rate_measured": measured,
            "at": round(time.time(), 3),
        }
        if server:
            fields["server"] = server
        self.stream.write(json.dumps(fields) + "\n")
        self.stream.flush()


def reporter(log_format: str, quiet: bool, stream: TextIO) -> Reporter:
    """The reporter for --log-format and --quiet: live on a terminal, plain lines else."""
    if quiet:
        return Quiet(stream)
    if log_format == "json":
        return JsonLines(stream)
    return Live(stream) if stream.isatty() else Plain(stream)
