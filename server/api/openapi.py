"""OpenAPI 3.1 built from the route table and the pydantic models the handlers use."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from server.api.schemas import ProblemOut
from server.http.endpoints import Endpoint
from server.http.problems import PROBLEM_CONTENT_TYPE

REF = "#/components/schemas/{model}"
ACTING_USER = {
    "name": "X-Telegram-User-Id",
    "in": "header",
    "required": False,
    # No pattern: the header is read (and checked: 422) only with the Bot scheme; the other
    # schemes ignore it, so no value is invalid as such.
    "description": "With `Authorization: Bot …`: the Telegram user the bot acts for, created "
    "on first sight; a positive integer below 2^52 (else 422). Ignored by other schemes.",
    "schema": {"type": "string"},
}


def build_openapi(endpoints: list[Endpoint], title: str, version: str) -> dict[str, Any]:
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = {(ProblemOut, "serialization")}
    for ep in endpoints:
        models.update((m, "validation") for m in (ep.request, ep.form, ep.query) if m)
        models.update((m, "serialization") for m in ep.responses.values() if m)
    keys, defs = models_json_schema(sorted(models, key=lambda m: m[0].__name__), ref_template=REF)
    ref = {model: schema for (model, _), schema in keys.items()}

    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        operation: dict[str, Any] = {
            "operationId": ep.handler.__name__,
            "summary": ep.summary,
            "tags": [ep.tag],
            "responses": {},
        }
        if ep.request:
            content = {"application/json": {"schema": ref[ep.request]}}
            if ep.form:
                content["application/x-www-form-urlencoded"] = {"schema": ref[ep.form]}
            operation["requestBody"] = {"required": True, "content": content}
        parameters = [*_path_parameters(ep), *_query_parameters(ep.query, defs)]
        if ep.requires_auth:
            operation["security"] = [{"bearer": []}, {"bot": []}, {"tma": []}]
            parameters.append(ACTING_USER)
        if parameters:
            operation["parameters"] = parameters
        for status, model in ep.responses.items():
            response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
            if model:
                response["content"] = {"application/json": {"schema": ref[model]}}
            operation["responses"][str(status)] = response
        for status in _errors(ep):
            operation["responses"][str(status)] = {
                "description": HTTPStatus(status).phrase,
                "content": {PROBLEM_CONTENT_TYPE: {"schema": ref[ProblemOut]}},
            }
        paths.setdefault(ep.path, {})[ep.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "bot": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Bot <service token>`; add `X-Telegram-User-Id` to act "
                    "for a Telegram user",
                },
                "tma": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`tma <Telegram.WebApp.initData>`",
                },
            },
        },
    }


def _path_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": endpoint.path_schemas.get(name, {"type": "string"}),
        }
        for name in endpoint.path_parameters
    ]


def _query_parameters(model: type[BaseModel] | None, defs: dict[str, Any]) -> list[dict[str, Any]]:
    """One parameter per field of the query model (its schema is inlined: a parameter's
    schema is its own, not a reference to the model)."""
    if model is None:
        return []
    schema = defs.get("$defs", {}).get(model.__name__) or model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        field_schema = dict(field_schema)
        description = field_schema.pop("description", None)
        field_schema.pop("title", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field_schema,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _errors(ep: Endpoint) -> list[int]:
    statuses = set(ep.errors)
    if ep.request:
        statuses.update({400, 413, 415, 422})
    if ep.query:
        statuses.add(422)
    if ep.requires_auth:
        # 401: no or bad credentials; 403: a bot without a user, or a deactivated account;
        # 422: a malformed X-Telegram-User-Id.
        statuses.update({401, 403, 422})
    return sorted(statuses)
