"""Run, step and execution ids: built and read by ``coflux.ids`` (and its Studio twin,
``studio/src/model/ids.ts``) only.

The cases are shared with Studio's ids.test.ts (studio/src/model/ids.cases.json), so
both read ids by the same rules. The source checks find ids built or taken apart by
hand anywhere else: an f-string or template joining an id and a number with ``:``,
or a string method splitting or matching an id on ``:``.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path

import pytest

import coflux
from coflux import ids

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(coflux.__file__).parent
STUDIO = ROOT / "studio" / "src"
CASES = json.loads((STUDIO / "model" / "ids.cases.json").read_text())

# --- the module ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASES["built"], ids=lambda c: c["execution"])
def test_an_id_built_parses_back(case: dict[str, object]) -> None:
    run, number, attempt = case["run"], case["number"], case["attempt"]
    assert isinstance(run, str) and isinstance(number, int) and isinstance(attempt, int)
    assert ids.step_id(run, number) == case["step"]
    assert ids.execution_id(ids.step_id(run, number), attempt) == case["execution"]
    assert ids.parse_execution(str(case["execution"])) == (run, number, attempt)
    assert ids.parse_step(str(case["step"])) == (run, number)
    assert ids.run_of(str(case["execution"])) == run
    assert ids.step_of(str(case["execution"])) == case["step"]
    assert ids.is_execution_id(str(case["execution"]))
    assert not ids.is_execution_id(str(case["step"])) and not ids.is_execution_id(run)


@pytest.mark.parametrize("case", CASES["read"], ids=lambda c: c["id"])
def test_run_and_step_are_read_off_an_id_without_checking_it(case: dict[str, str]) -> None:
    assert ids.run_of(case["id"]) == case["run"]
    assert ids.step_of(case["id"]) == case["step"]


def test_a_runs_first_step_and_execution() -> None:
    root = CASES["root"]
    assert ids.root_step_id(root["run"]) == root["step"]
    assert ids.root_execution_id(root["run"]) == root["execution"]
    assert ids.parse_step(root["step"])[1] == ids.ROOT_NUMBER


@pytest.mark.parametrize("text", CASES["not_executions"])
def test_a_malformed_execution_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not an execution id"):
        ids.parse_execution(text)


@pytest.mark.parametrize("text", CASES["not_steps"])
def test_a_malformed_step_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a step id"):
        ids.parse_step(text)


def test_server_made_run_ids_never_hold_a_separator() -> None:
    from coflux.orchestration.project import new_id

    run_id = new_id()
    assert ids.parse_execution(ids.execution_id(ids.step_id(run_id, 7), 2)) == (run_id, 7, 2)
    assert not {":", "."} & set(run_id)


# --- the source checks --------------------------------------------------------

# Words (of snake_case or camelCase names) that make an expression an id, and the
# ones that make the part after ":" a step number or attempt.
ID_WORDS = {"id", "ids", "run", "step", "execution", "attempt"}
NUMBER_WORDS = {"number", "attempt", "step", "n"}


def _words(text: str) -> set[str]:
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
    parts = (re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", n) for n in names)
    return {p.lower() for group in parts for p in group}


def _last_words(text: str) -> set[str]:
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
    return _words(names[-1]) if names else set()


def _joins_an_id(left: str, right: str | None) -> bool:
    """``left:right`` builds an id: an id joined to a number (``right`` None: a
    literal number)."""
    if not _words(left) & ID_WORDS:
        return False
    return right is None or bool(_last_words(right) & NUMBER_WORDS)


def python_hand_made_ids(source: str) -> list[int]:
    """The lines of ``source`` that build or take apart an id by hand."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for i, (before, between) in enumerate(itertools.pairwise(parts)):
                after = parts[i + 2] if i + 2 < len(parts) else None
                if not (
                    isinstance(before, ast.FormattedValue) and isinstance(between, ast.Constant)
                ):
                    continue
                text = str(between.value)
                if re.match(r":[0-9]", text):
                    right = None
                elif text == ":" and isinstance(after, ast.FormattedValue):
                    right = ast.unparse(after.value)
                else:
                    continue
                if _joins_an_id(ast.unparse(before.value), right):
                    found.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            colons = [a for a in node.args if isinstance(a, ast.Constant) and ":" in str(a.value)]
            receiver = node.func.value
            if isinstance(receiver, ast.Constant) and receiver.value == ":":  # ":".join(...)
                if any(_words(ast.unparse(a)) & ID_WORDS for a in node.args):
                    found.append(node.lineno)
            elif colons and _words(ast.unparse(receiver)) & ID_WORDS:
                found.append(node.lineno)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            sides = [node.left, node.right]
            if any(isinstance(s, ast.Constant) and s.value == ":" for s in sides) and any(
                _words(ast.unparse(s)) & ID_WORDS for s in sides
            ):
                found.append(node.lineno)
    return found


_TEMPLATE = re.compile(r"\$\{([^}]*)\}:(?:\$\{([^}]*)\}|[0-9])")
_METHOD = re.compile(
    r"([A-Za-z_$][\w$.]*)\s*\.\s*(?:split|indexOf|lastIndexOf|startsWith|endsWith|includes)"
    r"\(\s*[\"'`]:"
)
_CONCAT = re.compile(r"([\w$.]+)\s*\+\s*[\"']:[\"']|[\"']:[\"']\s*\+\s*([\w$.]+)")


def _makes_an_id(line: str) -> bool:
    return (
        any(_joins_an_id(m[1], m[2]) for m in _TEMPLATE.finditer(line))
        or any(_words(m[1]) & ID_WORDS for m in _METHOD.finditer(line))
        or any(_words(m[1] or m[2]) & ID_WORDS for m in _CONCAT.finditer(line))
    )


def typescript_hand_made_ids(source: str) -> list[int]:
    """The lines of a TypeScript ``source`` that build or take apart an id by hand."""
    return [number for number, line in enumerate(source.splitlines(), 1) if _makes_an_id(line)]


def test_the_python_check_finds_ids_made_by_hand() -> None:
    made = [
        'f"{run.id}:{number}"',
        'f"{step_id}:{record.latest_attempt + 1}"',
        'f"{run_id}:1:1"',
        'execution_id.rpartition(":")',
        'target_id.count(":") == 2',
        'f.execution_id.startswith(":1:", len(f.run_id))',
        'getattr(f, "execution_id", "").startswith(root_step + ":")',
        '":".join((run_id, str(number)))',
    ]
    assert [python_hand_made_ids(code) for code in made] == [[1]] * len(made)
    others = [
        'f"{repository}:{target}"',
        'f"{created_at.hex()}:{seq}"',
        'f"asset {asset.id}: {name}"',
        "f\"{self._line(execution.id, 'queued')}: {reason}\"",
        'module, name = target.split(":")',
        'DEFAULT_HOST.rsplit(":", 1)',
        "ids.parse_execution(execution_id)",
    ]
    assert [python_hand_made_ids(code) for code in others] == [[]] * len(others)


def test_the_typescript_check_finds_ids_made_by_hand() -> None:
    made = [
        "const stepId = route.step !== null ? `${route.run}:${route.step}` : null;",
        "id: `${stepId}:${attempt}`,",
        "steps.push(step(2, target, `${RUN}:1:1`));",
        'const cut = executionId.lastIndexOf(":");',
        'const [runId, step] = fact.execution_id.split(":");',
        'step: Number(id.split(":")[1]),',
        'if (line.execution_id.startsWith(stepId + ":")) {',
    ]
    assert [typescript_hand_made_ids(code) for code in made] == [[1]] * len(made)
    others = [
        "return `${pad(d.getHours())}:${pad(d.getMinutes())}`;",
        "const value = `${filters.workflow.repository}:${filters.workflow.target}`;",
        "return `group:${parentStepId}:${step.repository}:${step.target}`;",
        'const split = workflow ? workflow.lastIndexOf(":") : -1;',
        'String(data["c"] ?? "enum").split(":").pop();',
        "const step = stepNumberOf(executionId);",
    ]
    assert [typescript_hand_made_ids(code) for code in others] == [[]] * len(others)


def test_only_coflux_ids_builds_or_reads_ids() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "ids.py"
        for line in python_hand_made_ids(path.read_text())
    ]
    assert not found, f"ids built or read by hand (use coflux.ids): {found}"


def test_only_studios_ids_module_builds_or_reads_ids() -> None:
    # Tests write ids as literal data; generated.ts only declares types.
    skipped = {STUDIO / "model" / "ids.ts", STUDIO / "api" / "generated.ts"}
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted([*STUDIO.rglob("*.ts"), *STUDIO.rglob("*.tsx")])
        if path not in skipped and ".test." not in path.name
        for line in typescript_hand_made_ids(path.read_text())
    ]
    assert not found, f"ids built or read by hand (use studio/src/model/ids.ts): {found}"
