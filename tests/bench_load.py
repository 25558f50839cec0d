"""The benchmark's rows under load: a conversion while the shop application keeps working.

    offline-under-load  `uuidpk apply` (one transaction, ACCESS EXCLUSIVE on the five tables for
                        the whole rewrite) while tests/workload.py runs: shows the stall.
    online              `uuidpk apply --online` when the CLI has it, else the Python API
                        uuidpk.apply_online(); skipped with one line while neither exists.

Each run: the load alone for --load-baseline seconds (the baseline), the migration under it, then
--load-after seconds more. Reported from the load's side (issue 10's targets in brackets):
failed transactions [0], lost rows [0], the longest stall of one worker [<= 0.2 s] and of all
of them, p99 latency, throughput during the migration as a share of the baseline's [>= 70 %],
the migration's wall time, and the cutover's lock time [<= 100 ms]: the online API's own figure
when its result carries one, else the longest time no worker completed anything during the
migration (for offline, that is the whole time the tables were locked).

The load is an open shop: --load-workers connections, each capped at --load-rate transactions a
second (closed loop, see workload.py), so the baseline is a steady offered load and the share
says how much of it still got through. Server CPU and WAL of these rows include the load's.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import Report, UnderLoad, Workload, run_under_load

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCALE = 200_000
TABLE = "public.order_order"

# Attribute names under which an online result may report its cutover's lock time, in seconds
# (or milliseconds for the *_ms names): whichever the API has, first match wins.
_LOCK_SECONDS = ("cutover_lock_seconds", "lock_seconds", "cutover_seconds")
_LOCK_MS = ("cutover_lock_ms", "lock_ms", "cutover_ms")
# A line of apply --online on stderr that names the cutover's lock time.
_LOCK_LINE = re.compile(
    r"cutover\b.*?\b(?:lock(?:ed)?|held)\b.*?(?P<v>[0-9.]+)\s*(?P<unit>ms|s)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class LoadOptions:
    workers: int = 4
    rate: float = 25.0  # per worker, transactions per second; 0: flat out
    baseline: float = 10.0
    after: float = 3.0
    repeat: int = 1  # runs per method at a scale where only these rows run (unless --repeat)
    scales: tuple[int, ...] | None = None  # None: DEFAULT_SCALE, or --scales when given


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("rows under load (online, offline-under-load)")
    group.add_argument("--load-workers", type=int, default=4, help="application connections")
    group.add_argument(
        "--load-rate",
        type=float,
        default=25.0,
        help="transactions per second per connection at most (0: flat out); default 25",
    )
    group.add_argument("--load-baseline", type=float, default=10.0, help="seconds before")
    group.add_argument("--load-after", type=float, default=3.0, help="seconds after")
    group.add_argument(
        "--load-repeat",
        type=int,
        default=1,
        help="runs per method where only these rows run (default 1; --repeat overrides)",
    )
    group.add_argument(
        "--load-scales",
        help=f"order counts for these rows (default {DEFAULT_SCALE:,}, or --scales if given)",
    )


def options_from(args: argparse.Namespace) -> LoadOptions:
    scales = None
    if args.load_scales:
        scales = tuple(int(s.replace("_", "")) for s in args.load_scales.split(","))
    return LoadOptions(
        workers=args.load_workers,
        rate=args.load_rate,
        baseline=args.load_baseline,
        after=args.load_after,
        repeat=args.load_repeat,
        scales=scales,
    )


def under_load(dsn: str, migrate: Callable[[], Any], options: LoadOptions) -> UnderLoad:
    return run_under_load(
        dsn,
        migrate,
        baseline=options.baseline,
        after=options.after,
        workers=options.workers,
        rate=options.rate or None,
    )


# ---------------------------------------------------------------------------------------------
# The online migration, by whichever door exists


def online_cli(apply_help: str) -> bool:
    return "--online" in apply_help


def online_api() -> Callable[..., Any] | None:
    """uuidpk.apply_online (the public API), once it exists."""
    import uuidpk

    found = getattr(uuidpk, "apply_online", None)
    return found if callable(found) else None


def online_missing_line() -> str:
    return (
        "online: skipped: neither `uuidpk apply --online` nor uuidpk.apply_online exists yet"
        " (issue 10)"
    )


def call_online_api(apply_online: Callable[..., Any], dsn: str, say: Callable[[str], None]) -> Any:
    """uuidpk.apply_online(conn, Selection((table,))) with its default settings: the whole run,
    every phase; the result's cutover_lock_seconds is the lock time. Its progress messages go
    to `say`, as the CLI would print them."""
    import uuidpk

    settings_type = getattr(uuidpk, "OnlineSettings", None)
    settings = None
    if settings_type is not None:
        settings = settings_type(progress=lambda event: say(f"uuidpk: {event.message}"))
    with uuidpk.connect(dsn) as conn:
        return apply_online(conn, uuidpk.Selection(tables=(TABLE,)), None, settings)


# A finished step, as the online executor reports it: "<step> done in <s> s[, ...]".
_STEP_DONE = re.compile(r"^uuidpk: (?P<step>\S+) done in (?P<s>[0-9.]+) s\b")


def step_seconds(lines: Sequence[str]) -> dict[str, float]:
    """Seconds per online step, from its progress lines."""
    steps: dict[str, float] = {}
    for line in lines:
        m = _STEP_DONE.match(line)
        if m:
            steps[m.group("step")] = steps.get(m.group("step"), 0.0) + float(m.group("s"))
    return steps


def lock_from_stderr(text: str) -> float | None:
    """The cutover's lock time from apply --online's stderr, if a line names it."""
    for line in text.splitlines():
        m = _LOCK_LINE.search(line)
        if m:
            value = float(m.group("v"))
            return value / 1000 if m.group("unit").lower() == "ms" else value
    return None


def lock_from_result(result: Any) -> float | None:
    """The cutover's lock time from the online API's result, if it carries one."""
    for name in _LOCK_SECONDS:
        value = getattr(result, name, None)
        if isinstance(value, int | float):
            return float(value)
    for name in _LOCK_MS:
        value = getattr(result, name, None)
        if isinstance(value, int | float):
            return float(value) / 1000
    return None


# ---------------------------------------------------------------------------------------------
# Stalls by cause: which step ran while an application transaction was slow

# A step starting, as the online executor reports it: "<phase>: <step>".
_STEP_START = re.compile(r"^uuidpk: (?P<phase>[a-z]+): (?P<step>\S+)$")
# A lock retry: "<step>: lock not available, retry <n> in <ms> ms".
_RETRY = re.compile(r"^uuidpk: (?P<step>\S+): lock not available, retry")
# A stall worth naming: more than twice the load's own pace (40 ms at 25 tx/s).
STALL_SECONDS = 0.1


@dataclass(frozen=True)
class Interval:
    """One online step's run, in perf_counter seconds (the workload's clock)."""

    step: str
    start: float
    end: float
    retries: int = 0


def step_intervals(lines: Sequence[tuple[float, str]], started: float) -> list[Interval]:
    """When each online step ran, from the arrival times of its start and done lines (times
    count from `started`, a perf_counter() reading: perf_counter is the system's monotonic
    clock, the same in the client process and in the load's threads)."""
    out: list[Interval] = []
    running: dict[str, tuple[float, int]] = {}
    for at, line in lines:
        done, start, retry = _STEP_DONE.match(line), _STEP_START.match(line), _RETRY.match(line)
        if done and done.group("step") in running:
            began, retries = running.pop(done.group("step"))
            out.append(Interval(done.group("step"), started + began, started + at, retries))
        elif retry and retry.group("step") in running:
            began, retries = running[retry.group("step")]
            running[retry.group("step")] = (began, retries + 1)
        elif start:
            running[start.group("step")] = (at, 0)
    return out


def cause_name(step: str) -> str:
    """A step's kind (index:... -> index (CIC)); a backfill's with its table (batches on the
    table the application updates can hold its rows; on others they only share the machine)."""
    kind, _, name = step.partition(":")
    if kind == "backfill":
        return f"backfill {name.rpartition('.')[2]}"
    return {"index": "index (CIC)", "check": "check (NOT VALID)"}.get(kind, kind)


def stall_causes(
    load: Workload, window: tuple[float, float], intervals: Sequence[Interval]
) -> list[tuple[str, float]]:
    """(cause, gap seconds) of every gap longer than STALL_SECONDS between two successes of one
    worker in the window. The cause: the step that overlapped most the time from the previous
    success to the end of the slow transaction; none: `between steps` (the client's own work
    between steps, or the machine)."""
    lo, hi = window
    found: list[tuple[str, float]] = []
    for worker in range(load.workers):
        previous = lo
        for tx in load.transactions:
            if tx.worker != worker or not tx.ok or not lo <= tx.end <= hi:
                continue
            gap = tx.end - previous
            if gap > STALL_SECONDS:
                overlap: dict[str, float] = {}
                for step in intervals:
                    seconds = min(step.end, tx.end) - max(step.start, previous)
                    if seconds > 0:
                        name = cause_name(step.step)
                        overlap[name] = overlap.get(name, 0.0) + seconds
                cause = max(overlap, key=lambda n: overlap[n]) if overlap else "between steps"
                found.append((cause, gap))
            previous = tx.end
    return found


def causes_line(found: Sequence[tuple[str, float]]) -> str:
    """count (max ms) per cause, the worst first."""
    gaps: dict[str, list[float]] = {}
    for cause, gap in found:
        gaps.setdefault(cause, []).append(gap)
    ordered = sorted(gaps.items(), key=lambda item: -max(item[1]))
    shown = [
        f"{cause} {len(g)} ({statistics.median(g) * 1000:.0f}/{max(g) * 1000:.0f})"
        for cause, g in ordered
    ]
    return ", ".join(shown) or "none"


def _stalls_line(row: LoadRow) -> str:
    during = [
        stall
        for run, intervals in zip(row.runs, row.intervals, strict=False)
        for stall in stall_causes(run.load, run.migration.window, intervals)
    ]
    before = [
        ("baseline", gap)
        for run in row.runs
        if run.load.started is not None
        for _, gap in stall_causes(run.load, (run.load.started, run.migration.window[0]), [])
    ]
    return (
        f"stalls > {STALL_SECONDS * 1000:.0f} ms by step, all runs (count, median/max ms):"
        f" {causes_line(during)}; before the migration: {causes_line(before)}"
    )


# ---------------------------------------------------------------------------------------------
# Printing


@dataclass(frozen=True)
class LoadRow:
    """One method's successful runs under load at one scale."""

    name: str
    runs: Sequence[UnderLoad]
    reported_lock: Sequence[float | None]  # per run: the cutover lock time the tool reported
    failures: Sequence[str]
    steps: Sequence[dict[str, float]] = ()  # per run: seconds per online step
    intervals: Sequence[Sequence[Interval]] = ()  # per run: when each online step ran


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _row_line(row: LoadRow) -> list[str]:
    mig: list[Report] = [r.migration for r in row.runs]
    whole: list[Report] = [r.whole for r in row.runs]
    share = _median([r.share for r in mig])
    reported = _median(row.reported_lock)
    # Without a reported figure: the longest time no connection completed anything during
    # the migration, an upper bound of the lock (for offline: the lock, near enough).
    lock = (
        _ms(reported) if reported is not None else "~" + _ms(_median([r.global_stall for r in mig]))
    )
    errors: dict[str, int] = {}
    for r in whole:
        for code, n in r.errors.items():
            errors[code] = errors.get(code, 0) + n
    detail = ", ".join(f"{k} x{v}" for k, v in sorted(errors.items())) or "no errors"
    baseline = _median([r.baseline_throughput for r in mig]) or 0.0
    return [
        f"{row.name:<19} {sum(r.failed for r in whole):>6} {sum(r.lost.total for r in whole):>5}"
        f" {_ms(_median([r.longest_stall for r in mig])):>8}"
        f" {_ms(_median([r.global_stall for r in mig])):>7}"
        f" {_ms(_median([r.p99 for r in mig])):>7}"
        f" {'-' if share is None else f'{share:.0%}':>6}"
        f" {statistics.median(r.seconds for r in row.runs):8.1f} {lock:>8}",
        f"{'':<19} ({detail}; {sum(r.replanned for r in whole)} re-prepared once;"
        f" {sum(r.lost.checked_orders for r in whole):,} committed orders checked;"
        f" baseline {baseline:.0f} tx/s; longest transaction"
        f" {_ms(_median([r.longest_transaction for r in mig]))} ms)",
    ]


def _steps_line(runs: Sequence[dict[str, float]], top: int = 8) -> str:
    names = list(next(run for run in runs if run))
    medians = {n: statistics.median(run.get(n, 0.0) for run in runs if run) for n in names}
    slowest = sorted(medians.items(), key=lambda item: -item[1])
    shown = ", ".join(f"{name} {s:.1f}" for name, s in slowest[:top])
    rest = sum(s for _, s in slowest[top:])
    return shown + (f", {len(slowest) - top} others {rest:.1f}" if len(slowest) > top else "")


def print_load(
    orders: int, rows: Sequence[LoadRow], options: LoadOptions, notes: Sequence[str]
) -> None:
    rate = "flat out" if not options.rate else f"<= {options.rate:g} tx/s each"
    runs = max((len(row.runs) for row in rows), default=0)
    print(
        f"\n== {orders:,} orders under load: {options.workers} connections, {rate};"
        f" {options.baseline:g} s of load, the migration, {options.after:g} s more"
        f" (median of {runs}; failed and lost summed)"
    )
    header = (
        f"{'method':<19} {'failed':>6} {'lost':>5} {'stall ms':>8} {'all ms':>7} {'p99 ms':>7}"
        f" {'share':>6} {'seconds':>8} {'lock ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        if row.runs:
            for line in _row_line(row):
                print(line)
        if any(row.steps):
            print(f"{'':<19} steps, median s: {_steps_line(row.steps)}")
        if any(row.intervals):
            print(f"{'':<19} {_stalls_line(row)}")
        if row.failures:
            label = "FAILED" if not row.runs else f"{len(row.failures)} failed run(s)"
            print(f"{row.name:<19} {label}: {row.failures[0][:300]}")
    for note in notes:
        print(note)
    pace = f" (its own pace: {1000 / options.rate:.0f} ms)" if options.rate else ""
    print(
        "  during the migration: stall = longest gap between two successes of one connection"
        f"{pace}; all = of every connection;\n"
        "  share = throughput / the baseline's; lock = the tool's cutover figure, ~ = the 'all'"
        " gap. Targets (issue 10): 0 failed, 0 lost, stall <= 200 ms, share >= 70 %,"
        " lock <= 100 ms."
    )
