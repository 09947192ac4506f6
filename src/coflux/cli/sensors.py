"""``coflux sensors``: start, list and stop sensors."""

from __future__ import annotations

import click

from coflux.cli.arguments import parse_arguments
from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import emit_json, info, json_option, out


@click.group()
def sensors() -> None:
    """Start, list and stop sensors."""


@sensors.command("start")
@click.argument("repository")
@click.argument("target")
@click.argument("arguments", nargs=-1)
@json_option
@api_options
@pass_state
def start(
    state: CliState, repository: str, target: str, arguments: tuple[str, ...], as_json: bool
) -> None:
    """Start a sensor with JSON ARGUMENTS (plain JSON, never pickled); prints its id
    (--json: the server's answer)."""
    values = parse_arguments(arguments)
    config = state.config()
    with state.client() as client:
        answer = client.start_sensor(
            state.project(), config.environment, repository, target, values
        )
    sensor_id = answer.get("sensor_id", answer.get("id")) if isinstance(answer, dict) else None
    if as_json or sensor_id is None:
        emit_json(answer)
    else:
        out(str(sensor_id))


@sensors.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default for now).")
@api_options
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List the environment's sensors."""
    with state.client() as client:
        answer = client.list_sensors(state.project(), environment=state.config().environment)
    emit_json(answer)


@sensors.command("stop")
@click.argument("sensor_id")
@api_options
@pass_state
def stop(state: CliState, sensor_id: str) -> None:
    """Stop a sensor."""
    with state.client() as client:
        client.stop_sensor(state.project(), sensor_id)
    info(f"stopped sensor {sensor_id}")
