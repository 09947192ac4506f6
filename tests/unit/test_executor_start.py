"""What the executor does before it says it is ready: the first execution's own
preparations (OpenTelemetry imported, targets' annotations resolved), then what all
that made is kept out of the cyclic collector's walks (``gc.freeze``): a full
collection walks only what executions made since."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from coflux import protocol, serialization
from coflux.agent.executor import HEADER

REPOSITORY = """
import gc
import sys

import coflux as cf

IMPORTED = [object() for _ in range(1000)]  # made by the import: frozen with it


@cf.task()
def frozen() -> list[int]:
    made_here = [object() for _ in range(1000)]
    tracked = {id(o) for o in gc.get_objects()}
    # Imported by the first execution_span, unless the executor did it at its start.
    opentelemetry = vars(sys.modules["opentelemetry.trace"])
    prepared = "hints" in vars(frozen)  # resolved on first use, unless prepared
    return [
        gc.get_freeze_count(), id(IMPORTED) in tracked, id(made_here) in tracked,
        id(opentelemetry) in tracked, prepared,
    ]
"""


def test_the_start_prepares_and_freezes_and_what_an_execution_makes_is_not_frozen(
    tmp_path: Path,
) -> None:
    (tmp_path / "frozen_repo.py").write_text(REPOSITORY)
    agent_end, executor_end = socket.socketpair()
    command = [sys.executable, "-m", "coflux.agent.executor", "--fd", str(executor_end.fileno())]
    command += ["--workdir", str(tmp_path), "--repository", str(tmp_path / "frozen_repo.py")]
    process = subprocess.Popen(command, pass_fds=[executor_end.fileno()])
    executor_end.close()
    with agent_end, agent_end.makefile("rb") as reader:

        def read() -> protocol.ExecutorMessage:
            (length,) = HEADER.unpack(reader.read(HEADER.size))
            return protocol.decode_executor_message(reader.read(length))

        agent_end.settimeout(30)
        ready = read()
        assert isinstance(ready, protocol.ExecutorReady)
        execute = protocol.Execute(
            execution_id="r:1:1", run_id="r", step_id="r:1", attempt=1,
            repository=ready.manifests[0].repository, target="frozen", arguments=(),
        )  # fmt: skip
        payload = protocol.encode_msgpack(execute)
        agent_end.sendall(HEADER.pack(len(payload)) + payload)
        complete = read()
    process.wait(30)
    assert isinstance(complete, protocol.Complete)
    assert isinstance(complete.outcome, protocol.Succeeded)
    found = serialization.ValueCodec().load(complete.outcome.value)
    count, imported_tracked, made_tracked, opentelemetry_tracked, prepared = found
    assert count > 1000  # the repository's objects (and the SDK's) are frozen
    assert not imported_tracked  # so the collector no longer lists (or walks) them
    assert made_tracked  # while what an execution makes is collected as ever
    assert not opentelemetry_tracked  # imported before the freeze: at the start
    assert prepared
