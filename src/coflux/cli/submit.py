"""``coflux submit``: start a run of a workflow, optionally following it to its end."""

from __future__ import annotations

from pathlib import PurePath

import click

from coflux.cli.arguments import parse_arguments
from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.follow import follow as follow_run
from coflux.cli.output import info, out
from coflux.cli.results import finish


@click.command()
@click.argument("repository")
@click.argument("target", required=False)
@click.argument("arguments", nargs=-1)
@click.option("--idempotency-key", help="Submitting twice with the same key starts one run.")
@click.option("--wait", is_flag=True, help="Wait; print the result as JSON (or the error).")
@click.option("--follow", is_flag=True, help="Show the steps live on stderr, then as --wait.")
@api_options
@pass_state
def submit(
    state: CliState,
    repository: str,
    target: str | None,
    arguments: tuple[str, ...],
    idempotency_key: str | None,
    wait: bool,
    follow: bool,
) -> None:
    """Start a run of REPOSITORY's workflow TARGET with JSON ARGUMENTS.

    Also ``submit REPOSITORY/TARGET [ARGUMENTS]`` (upstream Coflux's form), and a
    script repository may be named by its file (``submit hello.py print_greeting``).

    Prints the run id. With --wait or --follow the run id goes to stderr and
    stdout gets only the result; the exit code is 0 only if the run succeeded.
    Each argument is plain JSON: an object arrives as that object (a "$" key
    included), never as a tagged or pickled value.
    """
    repository, target, arguments = _target_named(repository, target, arguments)
    values = parse_arguments(arguments)
    config = state.config()
    project = state.project()
    with state.client() as client:
        submission = client.submit(
            project,
            config.environment,
            repository,
            target,
            values,
            idempotency_key=idempotency_key,
        )
        run_id = submission.run_id
        if not (wait or follow):
            out(run_id)
            return
        existing = "" if submission.created else " (existing run with this idempotency key)"
        info(f"run {run_id}{existing}")
        if follow:
            follow_run(config, project, run_id)
        finish(client, project, run_id, wait=True)


def _target_named(
    repository: str, target: str | None, arguments: tuple[str, ...]
) -> tuple[str, str, tuple[str, ...]]:
    """(repository, target, JSON arguments) from either way of naming the target.

    Raises:
        click.UsageError: no target was named.
    """
    if repository.endswith(".py"):  # a script is hosted under its file's stem
        repository = PurePath(repository).stem
    elif "/" in repository:
        repository, _, named = repository.rpartition("/")
        if target is not None:
            arguments = (target, *arguments)
        target = named
    if not repository or not target:
        raise click.UsageError("name the workflow as REPOSITORY TARGET or REPOSITORY/TARGET")
    return repository, target, arguments
