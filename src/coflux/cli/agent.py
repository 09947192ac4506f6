"""``coflux agent``: host repositories and execute their targets.

The only place that installs signal handlers: SIGINT/SIGTERM ask the agent to
stop gracefully; a second one kills the executions still running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from collections.abc import Callable

import click

from coflux import protocol
from coflux.agent.settings import AgentSettings, default_concurrency, parse_provides
from coflux.cli.context import CliState, api_options, pass_state, portless_host_hint
from coflux.cli.output import CliError, info, setup_logging


def _provides(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    try:
        return parse_provides(values)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


async def _run(settings: AgentSettings) -> None:
    from coflux.agent.agent import run

    stop, kill = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal() -> None:
        # First signal: drain gracefully; second: kill running executions;
        # third: stop waiting for anything.
        if not stop.is_set():
            stop.set()
        elif not kill.is_set():
            kill.set()
        elif main is not None:
            main.cancel()

    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        await run(settings, stop, kill)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


@click.command()
@click.argument("repositories", nargs=-1, required=True, metavar="MODULE_OR_FILE...")
@click.option("--dev", is_flag=True, help="Same as --watch --register.")
@click.option("--watch", is_flag=True, help="Reload when source files change.")
@click.option(
    "--register", "register_", is_flag=True, help="Register manifests (on start and reload)."
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=default_concurrency,
    show_default="CPUs + 4, at most 32",
    help="Executions running at once (blocked ones, waiting for a result, not counted).",
)
@click.option(
    "--max-executors",
    type=click.IntRange(min=1),
    default=None,
    show_default="max(32, 4 x concurrency)",
    help="Executor processes at once, blocked executions' included.",
)
@click.option(
    "--prefetch",
    type=click.IntRange(min=0, max=protocol.MAX_CONCURRENCY),
    default=0,
    show_default=True,
    help="Executions to take beyond --concurrency, held until a slot frees"
    " (for many short tasks; see docs/operating.md).",
)
@click.option(
    "--provides",
    multiple=True,
    callback=_provides,
    metavar="KEY=VALUE[,VALUE...]",
    help="Tags this agent offers, e.g. gpu=A100 (repeatable).",
)
@click.option("--isolate", is_flag=True, help="Run each execution in a fresh process.")
@click.option(
    "--no-pickle",
    is_flag=True,
    help="Never unpickle or pickle a value: an execution that needs it fails"
    " (also COFLUX_AGENT_NO_PICKLE=1).",
)
@api_options
@pass_state
def agent(
    state: CliState,
    repositories: tuple[str, ...],
    dev: bool,
    watch: bool,
    register_: bool,
    concurrency: int,
    max_executors: int | None,
    prefetch: int,
    provides: dict[str, tuple[str, ...]],
    isolate: bool,
    no_pickle: bool,
) -> None:
    """Host MODULE_OR_FILE repositories and execute their targets."""
    config = state.config()
    if max_executors is not None and max_executors < concurrency:
        raise CliError(f"--max-executors ({max_executors}) must be at least --concurrency")
    try:
        settings = AgentSettings(
            host=config.host,
            project=state.project(),
            environment=config.environment,
            token=config.token,
            repositories=repositories,
            concurrency=concurrency,
            max_executors=max_executors,
            prefetch=prefetch,
            provides=provides,
            register=register_ or dev,
            watch=watch or dev,
            isolate=isolate,
        )
    except ValueError as e:  # a COFLUX_* variable the settings could not read
        raise CliError(str(e)) from None
    if no_pickle:  # without the flag, the settings read COFLUX_AGENT_NO_PICKLE
        settings = dataclasses.replace(settings, no_pickle=True)
    setup_logging()
    hint = portless_host_hint(config.host, "connecting to")
    if hint is not None:
        info(f"warning: {hint}")
    from coflux.agent.pool import ExecutorStartError

    try:
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            runner.run(_run(settings))
    except ExecutorStartError as e:
        # The pool has logged the import traceback; the error line names the cause.
        lines = [line for line in str(e).splitlines() if line.strip()]
        summary = lines[0].rstrip(":") + (f": {lines[-1].strip()}" if len(lines) > 1 else "")
        raise CliError(summary) from None
    except asyncio.CancelledError:
        click.get_current_context().exit(130)


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed (everywhere but Windows), else asyncio's.

    Every message of the agent crosses its event loop; uvloop's costs less per
    message (the server gets it from uvicorn the same way). See docs/performance.md.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
