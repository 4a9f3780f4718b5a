"""The API's description: the OpenAPI document, and a page to read it (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import jsonify, render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from heldout.platform import markdown
from heldout.platform.views.api.v1.base import PREFIX, bp, current_api

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Field:
    name: str
    where: str          # path, query, header, body
    kind: str
    required: bool
    about: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    about: Markup
    scope: str
    roles: tuple[str, ...]
    fields: tuple[Field, ...]
    responses: tuple[tuple[str, str], ...]
    anchor: str


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node``, or what its ``$ref`` points to in ``spec``."""
    while "$ref" in node:
        found: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            found = found[part]
        node = found
    return node


def _kind(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = str(schema.get("type", "object"))
    if kind == "array":
        return f"list of {_kind(spec, schema.get('items', {}))}"
    if kind == "object" and schema.get("properties"):
        kind = f"object {{{', '.join(schema['properties'])}}}"
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    return kind + (" or null" if schema.get("nullable") else "")


def _fields(spec: dict[str, Any], operation: dict[str, Any]) -> tuple[Field, ...]:
    found = [Field(p["name"], p["in"], _kind(spec, p.get("schema", {})),
                   bool(p.get("required")), str(p.get("description", "")))
             for p in (_resolve(spec, p) for p in operation.get("parameters", []))]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        schema = _resolve(spec, body["schema"])
        needed = set(schema.get("required", []))
        found += [Field(name, "body", _kind(spec, prop), name in needed,
                        str(_resolve(spec, prop).get("description", "")))
                  for name, prop in schema.get("properties", {}).items()]
    return tuple(found)


def operations(spec: dict[str, Any]) -> list[tuple[str, list[Operation]]]:
    """The document's operations grouped by tag, in the document's order."""
    groups: dict[str, list[Operation]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            about = str(operation.get("description", ""))
            groups.setdefault(operation.get("tags", ["API"])[0], []).append(Operation(
                method.upper(), path, str(operation.get("summary", "")), markdown.render(about),
                str(operation.get("x-scope", "")), tuple(operation.get("x-roles", ())),
                _fields(spec, {**item, **operation,
                               "parameters": [*item.get("parameters", []),
                                              *operation.get("parameters", [])]}),
                tuple((status, str(_resolve(spec, response).get("description", "")))
                      for status, response in operation.get("responses", {}).items()),
                f"{method}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"))
    return list(groups.items())


@bp.route("/openapi.json", methods=["GET"])
@bp.doc(summary="This document", tags=["About the API"], security=[])
def openapi_json() -> ResponseReturnValue:
    """The OpenAPI 3 document of this API (no token needed)"""
    return jsonify(current_api().spec.to_dict())


@bp.route("/docs", methods=["GET"])
@bp.doc(summary="The document as a page to read", tags=["About the API"], security=[],
        responses={"200": {"description": "HTML", "content": {"text/html": {
            "schema": {"type": "string"}}}}})
def docs_page() -> ResponseReturnValue:
    """The API's reference as a page (no token needed)"""
    spec = current_api().spec.to_dict()
    info = spec.get("info", {})
    return render_template("api/docs.html", info=info,
                           intro=markdown.render(str(info.get("description", ""))),
                           groups=operations(spec), prefix=PREFIX)
