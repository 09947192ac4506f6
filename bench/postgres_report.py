"""The engine report's PostgreSQL part: issue 13's targets, and each workload on
PostgreSQL beside the same workload on SQLite.

The ``*_postgres`` sections come from ``bench/run engine --store postgres`` (or
``--store sqlite,postgres``, which measures each workload on SQLite and right
after on PostgreSQL, so the two columns were taken minutes apart). Each section
carries the cluster's settings as PostgreSQL reported them. Targets are reported,
never asserted, as in ``engine_report``.
"""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import RESULTS, table

COMPARE = {">=": operator.ge, "<=": operator.le}
Getter = Callable[[dict[str, Any]], float]


def _at_100k(section: dict[str, Any]) -> dict[str, Any]:
    point: dict[str, Any] = section["points"][-1]
    if point["steps"] < 100_000:
        raise KeyError("history did not reach 100,000 steps (a --quick run)")
    return point


def _fsync_fanout(section: dict[str, Any]) -> float:
    if section["fanout"]["n"] != 10_000:
        raise KeyError("the --fsync fan-out was not of 10,000 (a --quick run)")
    return float(section["fanout"]["tasks_per_s"])


# (measure, unit, workload, how to read it from that section, comparison, target,
# how to read SQLite's with `--fsync`, every commit flushed as PostgreSQL's are)
TARGETS: list[tuple[str, str, str, Getter, str, float, Getter | None]] = [
    ("fan-out 10,000: tasks/s", "tasks/s", "fanout", lambda s: s["10000"]["tasks_per_s"], ">=", 2000, _fsync_fanout),
    ("... the same with `coflux agent --prefetch 8`", "tasks/s", "prefetch", lambda s: s["10000"]["tasks_per_s"], ">=", 2000, None),
    ("chain: ms per step", "ms", "chain", lambda s: s["ms_per_step"], "<=", 3, lambda s: s["chain"]["ms_per_step"]),
    ("server RSS after 100,000 steps", "MB", "history", lambda s: _at_100k(s)["server_rss_mb"], "<=", 150, None),
]  # fmt: skip


def _cell(workloads: dict[str, Any], key: str, get: Getter, unit: str) -> tuple[str, float | None]:
    try:
        value = get(workloads[key])
    except KeyError:
        return "not measured", None
    return f"{value:g} {unit}", value


def _blobs_row(directory: Path) -> list[object]:
    """The 200 MiB S3 measure, from ``bench/run blobs_rss`` (another benchmark)."""
    label = "200 MiB blob through S3: server peak RSS / the filesystem store's"
    path = directory / "blobs_rss.json"
    if not path.exists():
        path = RESULTS / "blobs_rss.json"
    if not path.exists():
        return [label, "not measured", "-", "-", "<= 2x", "-"]
    found = json.loads(path.read_text())
    ratio, bound = found["s3_over_filesystem_peak"], found["bound"]
    s3, fs = found["stores"]["s3"]["peak_mb"], found["stores"]["filesystem"]["peak_mb"]
    met = "met" if ratio <= bound else "**not met**"
    return [label + " (`bench/run blobs_rss`)", f"{ratio}x ({s3} vs {fs} MB)", "-", "-", f"<= {bound:g}x", met]  # fmt: skip


def targets(workloads: dict[str, Any], directory: Path) -> str:
    rows: list[list[object]] = []
    for label, unit, name, get, op, goal, get_fsync in TARGETS:
        ours, value = _cell(workloads, f"{name}_postgres", get, unit)
        sqlite, _ = _cell(workloads, name, get, unit)
        fsynced = "-" if get_fsync is None else _cell(workloads, "fsync", get_fsync, unit)[0]
        met = "-" if value is None else "met" if COMPARE[op](value, goal) else "**not met**"
        rows.append([label, ours, sqlite, fsynced, f"{op} {goal:g} {unit}", met])
    rows.append(_blobs_row(directory))
    header = ["measure", "PostgreSQL", "SQLite", "SQLite `--fsync`", "target (on PostgreSQL)", ""]
    return table(header, rows)


def _setup(section: dict[str, Any]) -> str:
    pg = section.get("postgres", {})
    if not pg:
        return ""
    return (
        f"PostgreSQL {pg['server_version'].split()[0]} over a {pg['connection']}, durable: "
        f"fsync={pg['fsync']}, synchronous_commit={pg['synchronous_commit']}, "
        f"full_page_writes={pg['full_page_writes']} (wal_sync_method={pg['wal_sync_method']}, "
        f"shared_buffers={pg['shared_buffers']}): PostgreSQL's defaults. "
    )


def _get(section: dict[str, Any] | None, *path: str) -> Any:
    found: Any = section
    for key in path:
        if not isinstance(found, dict) or key not in found:
            return "-"
        found = found[key]
    return found


def _mb(value: Any) -> Any:
    return value if value == "-" else round(value / 2**20, 2)


def fanout(section: dict[str, Any], sqlite: dict[str, Any] | None) -> str:
    rows = []
    for key, r in section.items():
        if not key.isdigit():
            continue
        cpu, db = r["cpu_s"], r.get("database", {})
        rows.append([
            r["n"], r["tasks_per_s"], _get(sqlite, key, "tasks_per_s"), r["wall_s"],
            r["peak_rss_mb"]["server"], f"{r['succeeded_steps']}/{r['recorded_steps']}",
            f"{cpu['server']:g} / {cpu['agent']:g} / {cpu['executors']:g} / {db.get('cpu_s_per_run', '-')}",
            " / ".join(f"{_get(sqlite, key, 'cpu_s', k)}" for k in ("server", "agent", "executors")),
            db.get("cpu_s_per_1000_steps", "-"), _mb(db.get("wal_bytes_per_1000_steps", "-")),
        ])  # fmt: skip
    header = ["N", "tasks/s", "SQLite tasks/s", "wall (s)", "server peak RSS (MB)"]
    header += ["steps recorded (succeeded/all)"]
    header += ["CPU s per run: server / agent / executors / PostgreSQL", "SQLite's: server / agent / executors"]  # fmt: skip
    header += ["PostgreSQL CPU s per 1,000 steps", "WAL MB per 1,000 steps"]
    note = (
        "Steps are the fan-out's tasks and its workflow (N + 1 a run). PostgreSQL's CPU is "
        "its whole process tree (backends, WAL writer, checkpointer, autovacuum); its WAL is "
        "`pg_wal_lsn_diff` of `pg_current_wal_lsn()` around the measured runs.\n\n"
    )
    return note + table(header, rows)


def chain(section: dict[str, Any], sqlite: dict[str, Any] | None) -> str:
    db = section.get("database", {})
    rows = [[section["n"], section["ms_per_step"], _get(sqlite, "ms_per_step"),
             db.get("cpu_s_per_1000_steps", "-"), _mb(db.get("wal_bytes_per_1000_steps", "-"))]]  # fmt: skip
    header = ["steps", "ms per step", "SQLite ms per step", "PostgreSQL CPU s per 1,000 steps"]
    header += ["WAL MB per 1,000 steps"]
    return f"Median of {section['runs']} chains.\n\n" + table(header, rows)


def dispatch(section: dict[str, Any], sqlite: dict[str, Any] | None) -> str:
    rows = []
    for key, label in (("ready_to_start_ms", "ready -> function starts"),
                       ("call_to_start_ms", "caller calls -> function starts")):  # fmt: skip
        rows.append([label, *(section[key][q] for q in ("p50", "p95", "p99", "max"))])
        rows.append(["... on SQLite", *(_get(sqlite, key, q) for q in ("p50", "p95", "p99", "max"))])  # fmt: skip
    intro = (
        f"{section['samples']} steps one at a time under {section['load_steps_per_s']} steps/s "
        "of load (see the SQLite section for the method).\n\n"
    )
    return intro + table(["interval (ms)", "p50", "p95", "p99", "max"], rows)


def history(section: dict[str, Any], sqlite: dict[str, Any] | None) -> str:
    theirs = {p["steps"]: p for p in (sqlite or {}).get("points", [])}
    rows = []
    for p in section["points"]:
        other = theirs.get(p["steps"], {})
        rows.append([
            p["steps"], p["server_rss_mb"], other.get("server_rss_mb", "-"), p["server_peak_rss_mb"],
            p.get("postgres_pss_mb", "-"), p.get("database_mb", "-"), p["runs_list_api_ms"],
            p["runs_inspect_cli_ms"], p["runs_inspect_api_ms"], other.get("runs_inspect_api_ms", "-"),
            p["run_view_api_ms"],
        ])  # fmt: skip
    header = [
        "steps recorded",
        "server RSS (MB)",
        "SQLite: server RSS (MB)",
        "server peak RSS (MB)",
    ]
    header += ["PostgreSQL PSS (MB)", "database (MB)", "API list (ms)", "`runs inspect` (ms)"]
    header += ["API run outline (ms)", "SQLite: API run outline (ms)", "API run view (ms)"]
    rates = ", ".join(f"{r:g}" for r in section["fanout_tasks_per_s"])
    note = (
        f"Runs of {section['steps_per_run']:,} steps, read as in the SQLite section (median of 5). "
        "PostgreSQL's memory is the PSS of its process tree (shared buffers counted once); "
        f"the database's size is `pg_database_size`. Fan-out rate of each run (tasks/s): {rates}.\n\n"
    )
    return note + table(header, rows)


def store(section: dict[str, Any], sqlite: dict[str, Any] | None) -> str:
    db = section.get("database", {})
    single, theirs = section["single_append_ms"], _get(sqlite, "single_append_ms")
    rows = [
        [f"{section['n']:,} steps in batches of {section['batch']}: µs per step",
         section["us_per_step"], _get(sqlite, "us_per_step")],
        [f"{section['single_step_batches']:,} batches of one step: ms per append, p50",
         single["p50"], _get(theirs, "p50")],
        ["... p95", single["p95"], _get(theirs, "p95")],
        ["PostgreSQL CPU s per 1,000 steps (batches of 64)", db.get("cpu_s_per_1000_steps", "-"), "-"],
        ["WAL MB per 1,000 steps (batches of 64)", _mb(db.get("wal_bytes_per_1000_steps", "-")), "-"],
    ]  # fmt: skip
    note = (
        "No server: a fan-out's facts appended to a fresh project's store, median of 5 "
        "stores; then steps one a batch (created and assigned, then completed: a chain's "
        "two commits a step).\n\n"
    )
    return note + table(["measure", "PostgreSQL", "SQLite"], rows)


SECTIONS: list[tuple[str, str, Callable[[dict[str, Any], dict[str, Any] | None], str]]] = [
    ("fanout", "Fan-out on PostgreSQL", fanout),
    ("prefetch", "Fan-out with `coflux agent --prefetch 8` on PostgreSQL", fanout),
    ("chain", "Chain on PostgreSQL", chain),
    ("dispatch", "Dispatch latency on PostgreSQL", dispatch),
    ("history", "History on PostgreSQL", history),
    ("store", "The store alone on PostgreSQL", store),
]


def _when(section: dict[str, Any]) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(section["measured_at"]))


def targets_part(workloads: dict[str, Any], directory: Path) -> list[str]:
    """Issue 13's targets (none if nothing ran on PostgreSQL)."""
    if not any(f"{name}_postgres" in workloads for name, _, _ in SECTIONS):
        return []
    return [
        "",
        "## Against the targets of issue 13 (PostgreSQL)",
        "",
        targets(workloads, directory),
    ]


def sections_part(workloads: dict[str, Any]) -> list[str]:
    """Each workload measured on PostgreSQL, with SQLite's numbers beside it."""
    lines: list[str] = []
    for name, title, render_section in SECTIONS:
        section = workloads.get(f"{name}_postgres")
        if section is None:
            continue
        sqlite = workloads.get(name)
        when = f"_Measured {_when(section)} UTC"
        when += f"; SQLite's numbers beside it {_when(sqlite)} UTC._" if sqlite else "._"
        lines += [
            "",
            f"## {title}",
            "",
            when,
            "",
            _setup(section) + render_section(section, sqlite),
        ]
    return lines
