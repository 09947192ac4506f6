"""The peers benchmark's ratios and Markdown report.

Every ratio is ours / peer on the measure as reported: for tasks/s above 1 means
ours is ahead; for ms per step and seconds to a first result below 1 does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from measure import table, write  # bench/ is on the path: the runner puts it there

Measure = tuple[str, list[str], str, bool]  # label, path to the number, unit, higher is better

# Issue 19: against the durable engines, ahead is not enough; ours must lead by this factor.
LEAD_FACTOR = {"temporal": 5.0, "dbos": 5.0}

# How a peer ran where it differs from the others, kept with its results so an
# old result keeps the notes it was measured under.
NOTES = {
    "temporal": (
        "`temporal server start-dev --headless` on a fresh SQLite file in WAL mode with "
        "synchronous=full (every history event is synced before it counts), an in-process asyncio worker with the SDK's "
        "defaults, `async def` activities. Temporal refuses more than 2,000 pending "
        "activities per workflow, so a fan-out runs in windows of 1,000 gathered one "
        "after another (10,000 is 10 windows in one workflow). Cold start includes "
        "starting the dev server."
    ),
    "dbos": (
        "DBOS on a throwaway PostgreSQL cluster with fsync, synchronous_commit and "
        "full_page_writes on (unix socket); every workflow's status and every step's "
        "output is committed there. Fan-out: a workflow enqueues the steps on a DBOS "
        "queue (polling every 10 ms) and gathers their handles. Cold start includes "
        "creating and migrating DBOS's system database, not starting PostgreSQL."
    ),
}


def measures(sizes: dict[str, Any]) -> list[Measure]:
    """The compared measures, for the sizes of this run (a --quick run has smaller ones)."""
    found: list[Measure] = [
        (f"fan-out {n:,}", ["fanout", str(n), "tasks_per_s"], "tasks/s", True)
        for n in sizes["fanout"]
    ]
    found.append((f"chain {sizes['chain']}", ["chain", "ms_per_step"], "ms/step", False))
    found.append(("cold start", ["cold", "first_result_s"], "s", False))
    return found


def _read(section: dict[str, Any], path: list[str]) -> float | None:
    node: Any = section
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, int | float) else None


def ratios(ours: dict[str, Any], theirs: dict[str, Any], sizes: dict[str, Any]) -> dict[str, Any]:
    """ours / peer for each measure both sides have, and whether ours is ahead."""
    found: dict[str, Any] = {}
    for label, path, _, higher in measures(sizes):
        mine, other = _read(ours, path), _read(theirs, path)
        if mine is None or other is None or other == 0:
            continue
        ratio = mine / other
        found[label] = {"ours_over_peer": round(ratio, 3), "ours_ahead": ratio > 1 if higher else ratio < 1}  # fmt: skip
    return found


def _cell(section: dict[str, Any], path: list[str]) -> str:
    value = _read(section, path)
    if value is not None:
        return f"{value:g}"
    error = section.get(path[0], {})
    error = error.get(path[1], error) if isinstance(error, dict) and len(path) > 2 else error
    return "failed" if isinstance(error, dict) and "error" in error else "-"


def comparison(peers: dict[str, Any], sizes: dict[str, Any]) -> str:
    rows: list[list[object]] = []
    for label, path, unit, _ in measures(sizes):
        for peer, found in peers.items():
            if found["status"] != "measured":
                continue
            ratio = found["ratios"].get(label)
            rows.append([
                label, f"{peer} {found['version']}", unit, _cell(found["theirs"], path),
                _cell(found["ours"], path),
                "-" if ratio is None else ratio["ours_over_peer"],
                "-" if ratio is None else ("yes" if ratio["ours_ahead"] else "**no**"),
            ])  # fmt: skip
    header = ["workload", "peer", "unit", "peer", "ours (same pair)", "ours / peer", "ours ahead"]
    return table(header, rows)


def _leads(ratio: dict[str, Any] | None, higher: bool, factor: float) -> bool:
    """Whether ours leads by ``factor`` on a measure (1: merely ahead)."""
    if ratio is None:
        return False
    value = ratio["ours_over_peer"]
    return bool(value > factor if higher else value < 1 / factor)


def lead(peers: dict[str, Any], sizes: dict[str, Any]) -> str:
    """The issues' targets: ahead of every peer on fan-out and chain, by
    ``LEAD_FACTOR`` for the durable engines."""
    rows: list[list[object]] = []
    for peer, found in peers.items():
        factor = LEAD_FACTOR.get(peer, 1.0)
        target = "ahead" if factor == 1 else f"{factor:g}x ahead"
        if found["status"] != "measured":
            rows.append([peer, target, "not measured", "-"])
            continue
        wanted = [(label, higher) for label, _, _, higher in measures(sizes) if label != "cold start"]  # fmt: skip
        behind = [k for k, higher in wanted if not _leads(found["ratios"].get(k), higher, factor)]
        rows.append([peer, target, "met" if not behind else "**not met**", ", ".join(behind) or "-"])  # fmt: skip
    return table(["peer", "target on fan-out and chain", "status", "short on"], rows)


def issue_19(peers: dict[str, Any]) -> str:
    """Issue 19's targets beside the peers that ``lead`` does not cover: 1.5x ahead of
    Ray on the 1,000-task fan-out, and the cold start ahead of every peer."""
    ray = peers.get("ray", {})
    ratio = ray.get("ratios", {}).get("fan-out 1,000") if ray.get("status") == "measured" else None
    ray_row = ["1.5x ahead of Ray on the fan-out of 1,000", "-" if ratio is None else f"{ratio['ours_over_peer']}x"]  # fmt: skip
    ray_row.append("not measured" if ratio is None else "met" if _leads(ratio, True, 1.5) else "**not met**")  # fmt: skip
    measured = {p: f for p, f in peers.items() if f["status"] == "measured" and "cold start" in f["ratios"]}  # fmt: skip
    behind = [p for p, f in measured.items() if not _leads(f["ratios"]["cold start"], False, 1.0)]
    cold_row = ["cold start ahead of every peer", f"behind {', '.join(behind)}" if behind else "ahead of all"]  # fmt: skip
    cold_row.append("not measured" if not measured else "**not met**" if behind else "met")
    return table(["target", "ours", "status"], [ray_row, cold_row])


def notes(peers: dict[str, Any]) -> list[str]:
    return [
        f"- **{peer}**: {found['notes']}" for peer, found in peers.items() if found.get("notes")
    ]


def failures(peers: dict[str, Any]) -> list[str]:
    lines = []
    for peer, found in peers.items():
        if found["status"] != "measured":
            lines.append(f"- **{peer}**: {found['status']}: {found['reason']}")
            continue
        for side in ("ours", "theirs"):
            for key, section in found[side].items():
                parts = section.values() if key == "fanout" else [section]
                for part in parts:
                    if isinstance(part, dict) and "error" in part:
                        lines.append(f"- {peer}, {side}, {key}: {part['error']}")
    return lines


def render(data: dict[str, Any]) -> str:
    machine, peers = data["machine"], data["peers"]
    problems = failures(peers)
    lines = [
        "# Peers on our workloads",
        "",
        f"Produced by `bench/run peers` ({data['mode']} mode) on Python {machine['python']}, "
        f"{machine['cpus']} CPUs, {machine['memory_gb']} GB, commit {machine.get('commit')}"
        f"{' with uncommitted changes under src/' if machine.get('src_modified') else ''}; "
        "see `docs/benchmarks.md`. "
        "Ours is measured right before each peer, workload by workload, so each ratio "
        "compares numbers taken moments apart. Ratios are ours / peer: above 1 is ahead "
        "for tasks/s, below 1 is ahead for ms/step and seconds. Fan-outs and chains "
        "shorter than 2 s are run again, up to 5 times, and their median kept, for ours "
        "and the peer alike (`measure.timed_runs`).",
        "",
        "## Target: ahead of every peer on fan-out and chain (5x ahead of the durable engines)",
        "",
        lead(peers, data["sizes"]),
        "",
        "## The other targets of issue 19 beside the peers",
        "",
        issue_19(peers),
        "",
        "## Pair by pair",
        "",
        comparison(peers, data["sizes"]),
    ]
    if notes(peers):
        lines += ["", "## How the peers ran (where they differ)", "", *notes(peers)]
    if problems:
        lines += ["", "## Not measured", "", *problems]
    return "\n".join(lines) + "\n"


def write_report(directory: Path, data: dict[str, Any]) -> None:
    markdown = render(data)
    write(directory, "peers", data, markdown)
    print(markdown)
