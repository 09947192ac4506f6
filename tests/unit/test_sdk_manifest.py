"""Loading repositories and describing their targets."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coflux import protocol
from coflux.sdk.manifest import build_manifest, find_targets, load_repository

REPOS = Path(__file__).resolve().parents[1] / "support" / "repos"


@pytest.fixture(autouse=True)
def restore_imports() -> Iterator[None]:
    """Forget modules and paths a test loaded, so tests don't see each other's."""
    modules, path = set(sys.modules), list(sys.path)
    yield
    for name in set(sys.modules) - modules:
        # Only user code: libraries imported on the way (ctypes...) stay loaded.
        file = getattr(sys.modules[name], "__file__", None)
        installed = file is not None and Path(file).is_relative_to(sys.base_prefix)
        if not installed and not Path(file or "").is_relative_to(sys.prefix):
            del sys.modules[name]
    sys.path[:] = path


def test_a_file_is_a_repository_named_by_its_stem() -> None:
    repository, module = load_repository(str(REPOS / "hello.py"))
    assert (repository, module.__name__) == ("hello", "hello")
    assert str(REPOS) in sys.path  # so that it can import its neighbours
    assert module.greet.repository == "hello"
    assert load_repository(str(REPOS / "hello.py"))[1] is module  # loaded once


def test_a_module_name_is_a_repository_of_that_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPOS.parents[2])
    repository, module = load_repository("tests.support.repos.failing")
    assert (repository, module.__name__) == (
        "tests.support.repos.failing",
        "tests.support.repos.failing",
    )
    assert module.fail.repository == "tests.support.repos.failing"


def test_the_manifest_lists_targets_defined_in_the_module_only() -> None:
    manifest = build_manifest(*load_repository(str(REPOS / "catalogue.py")))
    assert manifest.repository == "catalogue"
    names = [(t.name, t.type) for t in manifest.targets]
    # `greet` is imported from hello and `remote` is a stub: neither is hosted here.
    assert names == [
        ("fetch_user", "task"),
        ("combine", "task"),
        ("main", "workflow"),
        ("watch_bucket", "sensor"),
    ]


def test_manifest_entries_describe_parameters_docstrings_and_options() -> None:
    manifest = build_manifest(*load_repository(str(REPOS / "catalogue.py")))
    fetch = manifest.targets[0]
    integer = {"type": "integer"}
    assert fetch.parameters == (
        protocol.Parameter(name="user_id", annotation="int", schema=integer),
        protocol.Parameter(
            name="verbose", annotation="bool", default="False", schema={"type": "boolean"}
        ),
        protocol.Parameter(
            name="limit", annotation="int | None", default="None", kind="keyword",
            schema={"anyOf": [integer, {"type": "null"}]},
        ),
    )  # fmt: skip
    assert fetch.docstring == "Fetch a user.\n\nMore detail here."
    assert fetch.options == protocol.TargetOptions(
        cache=protocol.CacheOptions(max_age=300.0, params=(0,)),
        retries=protocol.RetryOptions(limit=3, delay_min=1.0, delay_max=10.0),
        requires={"gpu": ("true",), "region": ("eu", "us")},
    )
    main = manifest.targets[2]
    assert main.parameters == (
        protocol.Parameter(name="names", annotation="str", kind="var_positional"),
    )
    assert main.docstring is None


def test_annotations_without_future_import_are_rendered_as_source() -> None:
    manifest = build_manifest(*load_repository(str(REPOS / "introspect.py")))
    where = {t.name: t for t in manifest.targets}["where"]
    assert where.parameters == ()
    get_env = {t.name: t for t in manifest.targets}["get_env"]
    assert get_env.parameters == (
        protocol.Parameter(name="name", annotation="str", schema={"type": "string"}),
    )


@pytest.mark.parametrize(
    "path", sorted(p.name for p in REPOS.glob("*.py") if p.name != "broken_import.py")
)
def test_every_sample_repository_has_a_manifest(path: str) -> None:
    repository, module = load_repository(str(REPOS / path))
    manifest = build_manifest(repository, module)
    assert manifest.targets
    assert set(find_targets(module)) == {t.name for t in manifest.targets}
    assert protocol.decode_executor_message(
        protocol.encode_msgpack(protocol.ExecutorReady((manifest,)))
    )


def test_import_errors_propagate() -> None:
    with pytest.raises(RuntimeError, match="does not import"):
        load_repository(str(REPOS / "broken_import.py"))
    assert "broken_import" not in sys.modules


def test_a_missing_file_is_reported() -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.py"):
        load_repository("nope.py")


def test_a_file_may_not_shadow_an_imported_module(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("")
    with pytest.raises(ValueError, match="would shadow the module 'json'"):
        load_repository(str(tmp_path / "json.py"))


def test_two_targets_with_one_name_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "clashing_names.py").write_text(
        "import coflux as cf\n\n"
        "@cf.task(name='x')\ndef a(): pass\n\n"
        "@cf.task(name='x')\ndef b(): pass\n"
    )
    with pytest.raises(ValueError, match="two targets are named 'x'"):
        build_manifest(*load_repository(str(tmp_path / "clashing_names.py")))
