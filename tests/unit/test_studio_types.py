"""Studio's TypeScript types are the server's schemas (scripts/studio-types)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Literal

import msgspec

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    # A script without a .py suffix: loaded by path, as scripts/test runs it.
    path = ROOT / "scripts" / "studio-types"
    loader = importlib.machinery.SourceFileLoader("studio_types", str(path))
    spec = importlib.util.spec_from_loader("studio_types", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


studio_types = _generator()


def test_committed_file_is_current() -> None:
    committed = (ROOT / "studio" / "src" / "api" / "generated.ts").read_text()
    assert studio_types.generate() == committed, "stale: run scripts/studio-types"


class Shape(msgspec.Struct, frozen=True, tag_field="kind"):
    pass


class Circle(Shape, frozen=True, tag="circle"):
    radius: float


class Square(Shape, frozen=True, tag="square", omit_defaults=True):
    side: float
    label: str | None = None


class Drawing(msgspec.Struct, frozen=True):
    shapes: list[Circle | Square]
    main: Circle | Square | None
    style: Literal["bold", "thin"] = "thin"


def _declarations() -> dict[str, str]:
    _, components = msgspec.json.schema_components(
        [Drawing], ref_template="#/components/schemas/{name}"
    )
    return {
        name: "\n".join(studio_types.declaration(name, schema))
        for name, schema in components.items()
    }


def test_tagged_union_members_carry_their_tag() -> None:
    declared = _declarations()
    assert (
        declared["Circle"] == 'export interface Circle {\n  kind: "circle";\n  radius: number;\n}'
    )
    assert "  shapes: Array<Circle | Square>;" in declared["Drawing"]
    assert "  main: Circle | Square | null;" in declared["Drawing"]


def test_field_with_a_default_is_optional() -> None:
    declared = _declarations()
    assert "  label?: string | null;" in declared["Square"]
    assert "  side: number;" in declared["Square"]
    assert '  style?: "bold" | "thin";' in declared["Drawing"]


def test_server_outcome_is_a_discriminated_union() -> None:
    text = studio_types.generate()
    assert "export type Outcome = Succeeded | Failed | Cancelled | Abandoned | TimedOut;" in text
    assert 'export interface Failed {\n  tag: "failed";\n  error: ErrorInfo;\n}' in text
    # ExecutionOutline omits its defaults: absent keys are optional in TypeScript.
    assert "  queued_reason?: string | null;" in text
