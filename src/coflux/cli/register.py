"""``coflux register``: import repositories here and register their manifests.

Unlike the agent, this command imports user code in its own process: it runs
once and exits, so a misbehaving import costs nothing but this command.
"""

from __future__ import annotations

import click

from coflux import protocol
from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import CliError, emit_json, info, json_option


def load_manifest(spec: str) -> protocol.Manifest:
    """Import a module or script and build its manifest.

    Raises:
        CliError: importing the user's code failed (one line: type and message).
    """
    from coflux.sdk.manifest import build_manifest, load_repository

    try:
        repository, module = load_repository(spec)
        return build_manifest(repository, module)
    except Exception as e:  # user code can raise anything while it is imported
        raise CliError(f"cannot load {spec}: {type(e).__name__}: {e}") from None


@click.command()
@click.argument("repositories", nargs=-1, required=True, metavar="MODULE_OR_FILE...")
@json_option
@api_options
@pass_state
def register(state: CliState, repositories: tuple[str, ...], as_json: bool) -> None:
    """Register the workflows of modules or script files, without starting an agent
    (--json: prints each repository registered, with its targets' names)."""
    manifests = [load_manifest(spec) for spec in repositories]
    config = state.config()
    project = state.project()
    with state.client() as client:
        client.register_manifests(project, config.environment, manifests)
    if as_json:
        emit_json(
            [
                {
                    "repository": m.repository,
                    "targets": [t.name for t in m.targets],
                    "project": project,
                    "environment": config.environment,
                }
                for m in manifests
            ]
        )
        return
    for manifest in manifests:
        count = len(manifest.targets)
        info(
            f"registered {manifest.repository} ({count} target{'s' if count != 1 else ''})"
            f" in {project}/{config.environment}"
        )
