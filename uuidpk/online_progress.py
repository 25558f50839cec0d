"""Progress of apply --online, for people (progress.py reports the offline apply): one line
per step, and per table rows, rate and ETA while the backfill runs. Every line goes through
safe_text.for_terminal (names are catalog text). On a terminal the backfill line is rewritten
in place; otherwise plain lines, at most one every few seconds per table (logs of long runs
stay readable)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .online import Event
from .safe_text import for_terminal


def describe(event: Event) -> str:
    """One line for an event."""
    if event.kind != "batch":
        return event.message
    total = max(event.rows_total, event.rows)
    share = f" ({100 * event.rows / total:.0f}%)" if total else ""
    eta = f", ETA {_duration(event.eta)}" if event.eta is not None else ""
    table = (event.step or "").removeprefix("backfill:")
    return f"backfill {table}: {event.rows}/{total} rows{share}, {event.rate:,.0f} rows/s{eta}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class OnlineProgress:
    """A Settings.progress callback writing to stderr."""

    def __init__(self, tty: bool, out: TextIO | None = None, every: float = 5.0) -> None:
        self.tty = tty
        self.out = out or sys.stderr
        self.every = every
        self._last: dict[str | None, float] = {}
        self._open = False  # a rewritten line is on screen

    def __call__(self, event: Event) -> None:
        line = for_terminal(f"uuidpk: {describe(event)}")
        if event.kind == "batch":
            if self.tty:
                self.out.write("\r" + line + "\033[K")
                self._open = True
                self.out.flush()
                return
            now = time.monotonic()
            if now - self._last.get(event.step, 0.0) < self.every:
                return
            self._last[event.step] = now
        if self._open:
            self.out.write("\n")
            self._open = False
        self.out.write(line + "\n")
        self.out.flush()
