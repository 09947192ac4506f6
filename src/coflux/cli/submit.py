"""``coflux submit``: start a run of a workflow, optionally following it to its end.

Starting an agent and submitting at once works: a repository that is not
registered yet, and whose name is no near miss of one that is (a typo is
refused at once, with the server's suggestion), is waited for up to
``REGISTRATION_WAIT`` seconds, polling the environment's manifests, as an agent
starting up registers it. A run that no connected agent can start (none hosts
the workflow, or none that does provides its tags) is still created, and queued;
the server's reason is printed as a warning at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import PurePath

import click

from coflux import protocol
from coflux.cli.arguments import parse_arguments
from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import emit_json, info, json_option, out
from coflux.cli.results import finish
from coflux.client import ApiError, Client
from coflux.suggestions import closest
from coflux.views import RunSubmitted

REGISTRATION_WAIT = 5.0
POLL_INTERVAL = 0.2


@click.command()
@click.argument("repository")
@click.argument("target", required=False)
@click.argument("arguments", nargs=-1)
@click.option("--idempotency-key", help="Submitting twice with the same key starts one run.")
@click.option("--wait", is_flag=True, help="Wait; print the result as JSON (or the error).")
@click.option("--follow", is_flag=True, help="Show the steps live on stderr, then as --wait.")
@json_option
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
    as_json: bool,
) -> None:
    """Start a run of REPOSITORY's workflow TARGET with JSON ARGUMENTS.

    Also ``submit REPOSITORY/TARGET [ARGUMENTS]`` (upstream Coflux's form), and a
    script repository may be named by its file (``submit hello.py print_greeting``).

    Prints the run id (--json: {"run_id", "created", "warning"}). With --wait or
    --follow the run id goes to stderr and stdout gets only the result, as JSON
    (with or without --json); the exit code is 0 only if the run succeeded.
    Each argument is plain JSON: an object arrives as that object (a "$" key
    included), never as a tagged or pickled value.
    """
    repository, target, arguments = _target_named(repository, target, arguments)
    values = parse_arguments(arguments)
    config = state.config()
    project = state.project()
    with state.client() as client:
        submitter = _Submitter(client, project, config.environment, repository)
        submission = submitter.submit(target, values, idempotency_key)
        run_id = submission.run_id
        if wait or follow:
            existing = "" if submission.created else " (existing run with this idempotency key)"
            info(f"run {run_id}{existing}")
        elif as_json:
            emit_json(submission)
        else:
            out(run_id)
        if submission.warning is not None and submitter.still_unplaceable(run_id):
            info(f"warning: run {run_id} is queued: {submission.warning}")
        if follow:
            # Only here: the live view (asyncio, WebSockets) costs a command ~30 ms to import.
            from coflux.cli.follow import follow as follow_run

            follow_run(config, project, run_id)
        if wait or follow:
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


class _Submitter:
    """Submits to one repository, waiting for it to be registered if an agent may
    be registering it right now (see the module's docstring)."""

    def __init__(self, client: Client, project: str, environment: str, repository: str) -> None:
        self.client = client
        self.project = project
        self.environment = environment
        self.repository = repository
        self.deadline: float | None = None  # set once the submission had to wait

    def submit(
        self, target: str, values: Sequence[protocol.Value], idempotency_key: str | None
    ) -> RunSubmitted:
        while True:
            try:
                return self.client.submit(
                    self.project, self.environment, self.repository, target, values,
                    idempotency_key=idempotency_key,
                )  # fmt: skip
            except ApiError as e:
                if e.reason != "unknown_repository" or not self._wait_for_manifest():
                    raise

    def _wait_for_manifest(self) -> bool:
        """Wait until the repository is registered; False if it is a typo of one
        that is, or the wait ran out."""
        if self.deadline is None:
            registered = self._registered()
            if self.repository in registered:
                return True  # registered since the refusal
            if closest(self.repository, registered) is not None:
                return False
            self.deadline = time.monotonic() + REGISTRATION_WAIT
            info(
                f"repository '{self.repository}' is not registered in {self.environment}:"
                f" waiting up to {REGISTRATION_WAIT:.0f} s for an agent to register it"
            )
        while time.monotonic() < self.deadline:
            time.sleep(POLL_INTERVAL)
            if self.repository in self._registered():
                return True
        return False

    def _registered(self) -> list[str]:
        return [m.repository for m in self.client.list_manifests(self.project, self.environment)]

    def still_unplaceable(self, run_id: str) -> bool:
        """Whether a run the server found no agent for still has none. Only a
        submission that waited for its repository asks again (until the wait's
        deadline): the agent that registered it connects just after."""
        if self.deadline is None:
            return True
        while time.monotonic() < self.deadline:
            root = self.client.get_run_outline(self.project, run_id).steps[0].executions[-1]
            if root.state != "queued" or root.queued_reason is None:
                return False
            time.sleep(POLL_INTERVAL)
        return True
