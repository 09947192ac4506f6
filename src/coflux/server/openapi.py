"""The OpenAPI document, generated from the route table and its typed records."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from coflux import protocol
from coflux.server.routes import ApiRoute
from coflux.views import ErrorBody

_PARAM = re.compile(r"{(\w+)}")
# The form of the path parameters that have one: a project by name or id (ids fit
# the pattern too) and an environment by name. Anything else is never found (404).
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "project": {"type": "string", "pattern": protocol.NAME_PATTERN},
    "environment": {"type": "string", "pattern": protocol.NAME_PATTERN},
}


def build_openapi(routes: list[ApiRoute], version: str) -> dict[str, Any]:
    types: list[Any] = [ErrorBody]
    for route in routes:
        if route.request is not None:
            types.append(route.request)
        if route.response is not None:
            types.append(route.response)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    error_schema = schemas[0]
    index = 1
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": route.summary,
            "parameters": [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": dict(_PATH_SCHEMAS.get(name, {"type": "string"})),
                }
                for name in _PARAM.findall(route.path)
            ]
            + [
                {
                    "name": q.name,
                    "in": "query",
                    "required": False,
                    "description": q.description,
                    "schema": q.schema
                    or {"type": {int: "integer", float: "number"}.get(q.type, "string")},
                }
                for q in route.query
            ],
            "responses": {
                "4XX": {
                    "description": "Bad input; nothing was changed",
                    "content": {"application/json": {"schema": error_schema}},
                }
            },
        }
        if route.request is not None:
            operation["requestBody"] = {
                "required": not route.optional_body,
                "content": {"application/json": {"schema": schemas[index]}},
            }
            index += 1
        response: dict[str, Any] = {"description": "OK"}
        if route.response is not None:
            response["content"] = {"application/json": {"schema": schemas[index]}}
            index += 1
        operation["responses"][str(route.status)] = response
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Coflux", "version": version},
        "paths": paths,
        "components": {"schemas": components},
    }
