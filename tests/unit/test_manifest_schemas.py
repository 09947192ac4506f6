"""Each parameter of a registered target carries the JSON Schema of its annotation
in the manifest (``protocol.Parameter.schema``): the one Studio's Run… form is drawn
from and the server checks a submission against. One workflow with a parameter of
every kind (tests/support/repos/annotated.py), read the way an agent registers it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from coflux import protocol
from coflux.sdk.manifest import build_manifest, load_repository

REPOS = Path(__file__).resolve().parents[1] / "support" / "repos"

ADDRESS = {
    "title": "Address",
    "type": "object",
    "properties": {
        "street": {"title": "Street", "type": "string"},
        "number": {"default": 1, "title": "Number", "type": "integer"},
    },
    "required": ["street"],
}
EXPECTED: dict[str, dict[str, Any] | None] = {
    "count": {"type": "integer"},
    "ratio": {"type": "number"},
    "enabled": {"type": "boolean"},
    "label": {"type": "string"},
    "mode": {"enum": ["fast", "slow"]},
    "colour": {"enum": ["red", "green"], "title": "Colour"},
    "day": {"type": "string", "format": "date"},
    "moment": {"type": "string", "format": "date-time"},
    "alarm": {"type": "string", "format": "time"},
    "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "customer": {
        "title": "Customer",
        "type": "object",
        "properties": {
            "name": {"title": "Name", "type": "string"},
            "address": {"$ref": "#/$defs/Address"},
        },
        "required": ["name", "address"],
        "$defs": {"Address": ADDRESS},
    },
    "thing": None,  # a plain class: nothing to describe, a JSON field in Studio
}


@pytest.fixture
def every_kind() -> protocol.TargetDefinition:
    manifest = build_manifest(*load_repository(str(REPOS / "annotated.py")))
    return {t.name: t for t in manifest.targets}["every_kind"]


def test_every_parameter_carries_the_schema_of_its_annotation(
    every_kind: protocol.TargetDefinition,
) -> None:
    assert {p.name: p.schema for p in every_kind.parameters} == EXPECTED


def test_the_schemas_survive_the_wire(every_kind: protocol.TargetDefinition) -> None:
    """As the agent sends a manifest and the server decodes it: a parameter with no
    schema leaves the field out rather than sending null."""
    manifest = protocol.Manifest(repository="annotated", targets=(every_kind,))
    encoded = msgspec.json.encode(manifest)
    decoded = msgspec.json.decode(encoded, type=protocol.Manifest)
    assert decoded == manifest
    thing = msgspec.json.decode(encoded)["targets"][0]["parameters"][-1]
    assert thing["name"] == "thing" and "schema" not in thing


def test_describing_parameters_does_not_import_pydantic() -> None:
    """A repository without Pydantic models must not pay for importing it: models are
    recognised by what they offer, never by importing the library."""
    code = (
        "import sys, coflux as cf\n"
        "from coflux.sdk.manifest import build_manifest, load_repository\n"
        f"build_manifest(*load_repository({str(REPOS / 'hello.py')!r}))\n"
        "print('pydantic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
