"""``coflux submit``: start a run of a workflow, optionally following it to its end."""

from __future__ import annotations

import click

from coflux.cli.arguments import parse_arguments
from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.follow import follow as follow_run
from coflux.cli.output import info, out
from coflux.cli.results import finish


@click.command()
@click.argument("repository")
@click.argument("target")
@click.argument("arguments", nargs=-1)
@click.option("--idempotency-key", help="Submitting twice with the same key starts one run.")
@click.option("--wait", is_flag=True, help="Wait; print the result as JSON (or the error).")
@click.option("--follow", is_flag=True, help="Show the steps live on stderr, then as --wait.")
@api_options
@pass_state
def submit(
    state: CliState,
    repository: str,
    target: str,
    arguments: tuple[str, ...],
    idempotency_key: str | None,
    wait: bool,
    follow: bool,
) -> None:
    """Start a run of REPOSITORY's workflow TARGET with JSON ARGUMENTS.

    Prints the run id. With --wait or --follow the run id goes to stderr and
    stdout gets only the result; the exit code is 0 only if the run succeeded.
    Each argument is plain JSON: an object arrives as that object (a "$" key
    included), never as a tagged or pickled value.
    """
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
