"""The several-servers report (``bench/servers.py``): issue 14's bounds, then each
phase's table, from ``servers.json``. Bounds are reported, never asserted, as in
``engine_report``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from measure import RESULTS, table, write

PAUSE_BOUND_S = 15.0  # issue 14: another server acquires the project within this, by default


def _when(section: dict[str, Any]) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(section["measured_at"]))
    return f"_Measured {stamp}, in {section['took_s']:g} s._"


def bounds(phases: dict[str, Any]) -> str:
    found = phases.get("takeover")
    if found is None:
        return "Not measured yet: `bench/run servers --only takeover`.\n"
    pause = found["pause_s"]["max"]
    faults = [found[k] for k in ("lost_steps", "duplicate_steps", "repeated_executions", "wrong_results")]  # fmt: skip
    rows = [
        ["takeover pause after `kill -9` of the owner (max over its projects)", f"{pause:g} s",
         f"<= {PAUSE_BOUND_S:g} s (issue 14, by default)", "met" if pause <= PAUSE_BOUND_S else "**not met**"],
        ["steps lost / duplicated / executions repeated / wrong results", " / ".join(map(str, faults)),
         "0", "met" if not any(faults) else "**not met**"],
    ]  # fmt: skip
    return table(["measure", "value", "bound", ""], rows) + "\n"


def scaling(section: dict[str, Any]) -> str:
    rows = []
    for count, found in section["by_servers"].items():
        r, tasks = found["median_round"], found["tasks_per_project"]
        per, cpu = r["per_project_tasks_per_s"], r["cpu_ms_per_task"]
        each = " / ".join(
            f"{s['cpu_ms_per_owned_task']:g} ({s['owned_tasks'] // tasks})"
            if s["cpu_ms_per_owned_task"] is not None
            else "- (0)"
            for s in r["servers"]
        )
        rounds = ", ".join(f"{x:g}" for x in found["rounds_tasks_per_s"])
        per_task = r["write_transactions"] / (found["projects"] * tasks)
        rows.append([
            count, f"{found['aggregate_tasks_per_s']:g} ({rounds})",
            f"{per['p50']:g} ({per['min']:g}-{per['max']:g})", each, cpu["servers"],
            cpu["agents"], cpu["postgres"], f"{r['write_transactions_per_s']:g} ({per_task:.2f})",
            f"{r['steps_run_once']}/{r['steps']}", f"{r['right_results']}/{found['projects']}",
            f"{found['settled_s']:g}",
        ])  # fmt: skip
    first = next(iter(section["by_servers"].values()))
    header = [
        "servers", "aggregate tasks/s (each round)", "per-project tasks/s, p50 (min-max)",
        "CPU ms per owned task, each server (its projects)", "CPU ms per task: all servers",
        "agents + executors", "PostgreSQL", "write transactions/s (per task)",
        "steps run once/all", "right results", "settled in (s)",
    ]  # fmt: skip
    return (
        f"{_when(section)}\n\n{first['projects']} projects, each with an environment and an agent "
        f"(`--concurrency 2 --max-executors 3`, all pointed at the first server; together "
        f"{section['agents_pss_mb']:g} MB PSS with their executors); every project runs a fan-out of "
        f"{first['tasks_per_project']} tasks at once, submitted round robin through the servers. "
        f"The median of {len(first['rounds_tasks_per_s'])} round(s) by aggregate tasks/s "
        "(all tasks over the time from the first submission to the last recorded completion); "
        "per-project tasks/s from each run's recorded creation and completion. A task is a "
        "fan-out's child step (the workflow's own step is not counted; its cost is in the CPU). "
        "CPU per owned task: the server's CPU seconds over the tasks of the projects it owns "
        "(it also forwarded other projects' submissions and result polls). Write transactions: "
        "the transaction ids PostgreSQL handed out. Settled in: from starting the added server "
        "to every project held by the server it belongs on, with its agent connected there.\n\n"
        + table(header, rows)
        + "\n"
    )


def takeover(found: dict[str, Any]) -> str:
    load = found["load"]
    pause, others = found["pause_s"], found["unaffected_pause_s"] or {"median": "-", "max": "-"}
    rows = [
        ["projects / owned by the killed server", f"{found['projects']} / {found['affected_projects']}"],
        ["pause: kill -> first completion recorded after it, its projects (median / max / min)",
         f"{pause['median']:g} / {pause['max']:g} / {pause['min']:g} s"],
        ["the same, projects of the surviving server (median / max)", f"{others['median']} / {others['max']} s"],
        ["kill -> the survivor holds every lease (the database's view)", f"{found['all_taken_over_s']:g} s"],
        ["runs ending with the wrong result (or not succeeded)", f"{found['wrong_results']} of {found['runs']}"],
        ["task steps lost (an index missing)", found["lost_steps"]],
        ["task steps duplicated (an index twice)", found["duplicate_steps"]],
        ["executions beyond the first, any step", found["repeated_executions"]],
        ["task steps recorded", found["steps"]],
    ]  # fmt: skip
    return (
        f"{_when(found)}\n\nTwo servers (lease {found['lease_ttl_s']:g} s, session timeout "
        f"{found['session_timeout_s']:g} s). Every project runs `load` ({load['tasks_per_s_per_project']:g} "
        f"tasks/s for {load['seconds']:g} s); {load['killed_after_s']:g} s in, the second server is "
        "killed with `kill -9`. Agents are pointed at the first server (as behind a load "
        "balancer), so those of the killed server's projects fall back to it. Counted from the "
        "API's run views after every run ended.\n\n"
        + table(["measure", "value"], rows)
        + "\n"
        + _problems(found.get("problems") or {})
    )


def _problems(problems: dict[str, Any], shown: int = 5) -> str:
    """The first runs that ended wrong: how, and their executions' final states."""
    if not problems:
        return ""
    lines = [
        f"- {name}: {p['result']['state']}, {_outcome(p['result'])}; executions: "
        + ", ".join(f"{n} {state}" for state, n in p["states"].items())
        for name, p in list(problems.items())[:shown]
    ]
    if len(problems) > shown:
        lines.append(f"- ... and {len(problems) - shown} more (servers.json has them all)")
    return "\nRuns that ended wrong:\n\n" + "\n".join(lines) + "\n"


def _outcome(result: dict[str, Any]) -> str:
    outcome = result.get("outcome") or {}
    error = outcome.get("error") or {}
    detail = error.get("message") or error.get("type") or (outcome.get("value") or {}).get("data")
    return f"{outcome.get('tag')} ({str(detail)[:120]})"


def idle(found: dict[str, Any]) -> str:
    one, two = found["one_server"], found["second_server"]
    n = found["projects"]
    rows = [
        ["projects created through the catalog (8 threads)", f"{found['created_s']:g} s"],
        ["one server: spawn -> serving (every lease acquired, every project opened)", f"{one['ready_s']:g} s ({one['leases_held']} leases)"],
        ["its RSS when serving (peak)", f"{one['rss_mb']:g} MB ({one['peak_rss_mb']:g})"],
        [f"its CPU while idle ({found['idle_window_s']:g} s)", f"{one['idle_cpu_s_per_minute']:g} s per minute"],
        ["PostgreSQL's CPU meanwhile", f"{one['idle_postgres_cpu_s_per_minute']:g} s per minute"],
        ["leases still held after the idle window", f"{one['leases_held_after_idle']} of {n}"],
        ["'lost its lease to another server' logged by it, the only server", one["lease_losses_logged"]],
        ["its heartbeat thread failing ('Set changed size during iteration')", one["heartbeat_thread_errors"]],
        ["one heartbeat (the UPDATE renewing every lease, with its commit; median of 7)", f"{one['heartbeat_ms']:g} ms ({one['heartbeat_renewed']} leases)"],
        ["... which is sent every", f"{found['lease_ttl_s'] / 3:g} s (a third of the lease)"],
        ["a second server: spawn -> serving", f"{two['ready_s']:g} s"],
        ["... then until each holds the projects that belong on it",
         "not within the time given" if two["spread_after_ready_s"] is None else f"{two['spread_after_ready_s']:g} s"],
        ["leases held: first / second", " / ".join(map(str, two["leases_held"]))],
        ["RSS: first / second (MB)", " / ".join(map(str, two["rss_mb"]))],
        ["heartbeat threads failed by then: first / second",
         " / ".join(map(str, two.get("heartbeat_thread_errors", ["-", "-"])))],
    ]  # fmt: skip
    return f"{_when(found)}\n\n{n} projects, no runs, no agents.\n\n" + table(["measure", "value"], rows) + "\n"  # fmt: skip


def write_report(directory: Path, data: dict[str, Any]) -> None:
    """Write ``servers.json`` and ``servers.md`` (the JSON also when the Markdown
    cannot be drawn: minutes of measurement are not lost to a report's bug)."""
    try:
        markdown = render(data)
    except Exception:
        write(directory, "servers", data, "The report could not be drawn: see servers.json.\n")
        raise
    write(directory, "servers", data, markdown)
    print(markdown)


def render(data: dict[str, Any]) -> str:
    facts, phases = data["machine"], data["phases"]
    dirty = " with uncommitted changes under src/" if facts["src_modified"] else ""
    source = facts.get("coflux_from")
    if source is not None and Path(source) != RESULTS.parents[1] / "src":
        dirty = f" (Coflux imported from {source} through PYTHONPATH, not the working tree's src/)"
    setup = next(iter(phases.values()))["postgres"]
    parts = [
        "# Several servers on one database\n",
        f"Produced by `bench/run servers` ({data['mode']} mode) on Python {facts['python']}, "
        f"{facts['cpus']} CPUs, {facts['memory_gb']} GB, commit {facts['commit']}{dirty}; "
        f"load average as the last run began {', '.join(map(str, facts['load_average']))}; see "
        f"`docs/benchmarks.md`. PostgreSQL {setup['server_version']} over a unix socket "
        f"(fsync {setup['fsync']}, synchronous_commit {setup['synchronous_commit']}, "
        f"full_page_writes {setup['full_page_writes']}); blobs in S3 (moto).\n",
        "## Against issue 14\n",
        bounds(phases),
    ]
    for name, title, draw in (
        ("scaling", "1, 2 and 3 servers", scaling),
        ("takeover", "Takeover", takeover),
        ("idle", "Idle projects", idle),
    ):
        if name in phases:
            parts += [f"## {title}\n", draw(phases[name])]
    return "\n".join(parts)
