"""``mypy --strict`` on user code sees the SDK's types (run through mypy's API)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

SAMPLES = Path(__file__).parent / "typing_samples"


def check(source: str, tmp_path: Path) -> tuple[str, int]:
    path = tmp_path / "sample.py"
    path.write_text(source)
    stdout, stderr, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(path)]
    )
    return stdout + stderr, status


def test_a_typed_sample_passes_strict(tmp_path: Path) -> None:
    output, status = check((SAMPLES / "upstream_typed.py").read_text(), tmp_path)
    assert status == 0, output


def test_wrong_arguments_and_results_are_caught(tmp_path: Path) -> None:
    source = (SAMPLES / "upstream_typed.py").read_text() + (
        "\n\ndef misuse() -> None:\n"
        "    fetch('not an int')\n"
        "    wrong: str = score.submit(1).result()\n"
        "    cf.Retries(limit='3')\n"
        "    lost: str = cf.select([score.submit(1)])[0].result()\n"
    )
    output, status = check(source, tmp_path)
    assert status == 1
    assert 'Argument 1 to "__call__" of "Target" has incompatible type "str"' in output, output
    assert "Incompatible types in assignment" in output, output
    assert 'Argument "limit" to "Retries"' in output, output
    assert output.count("Incompatible types in assignment") == 2, output
