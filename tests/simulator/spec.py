"""Response-schema validation against the vendored official OpenAPI 3.1 files.

Schemas are looked up by path, method and status and validated with
``openapi_schema_validator.OAS31Validator``; ``$ref`` resolution goes through a
``referencing`` registry holding every vendored file. Validation errors are classified so
tests can assert that only documented deviations (see the simulator README) occur.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS31Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import sendgrid_simulator
from sendgrid_simulator.streams import BY_PATH

SPEC_DIR = Path(sendgrid_simulator.__file__).parent / "openapi"


@cache
def _docs() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in SPEC_DIR.glob("*.json")}


@cache
def registry() -> Registry:
    """Every vendored spec file as a resource, ``urn:sendgrid-oas:<file>``."""
    resources = [
        (f"urn:sendgrid-oas:{name}", DRAFT202012.create_resource(doc))
        for name, doc in _docs().items()
    ]
    return Registry().with_resources(resources)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _follow(doc: dict, pointer: str) -> tuple[Any, str]:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#"):
        pointer = node["$ref"][1:]
        node, pointer = _follow(doc, pointer)
    return node, pointer


def schema_pointer(path: str, status: int) -> tuple[str, str] | None:
    """``(file, JSON pointer)`` of the response schema, ``None`` if the spec has none."""
    file = BY_PATH[path].spec
    doc = _docs()[file]
    pointer = f"/paths/{_escape(path)}/get/responses"
    responses, pointer = _follow(doc, pointer)
    if str(status) not in responses:
        return None
    response, rpointer = _follow(doc, f"{pointer}/{status}")
    content = response.get("content", {})
    if "application/json" not in content:
        return None
    return file, f"{rpointer}/content/application~1json/schema"


#: Generic error schema for statuses an endpoint does not document (from ``/v3/scopes`` 403).
GENERIC_ERROR = ("tsg_scopes_v3.json", None)


def validator_for(path: str, status: int) -> tuple[OAS31Validator, bool]:
    """Validator for the response schema; second item False when the generic one is used."""
    found = schema_pointer(path, status)
    specific = found is not None
    if found is None:
        found = schema_pointer("/v3/scopes", 403)
    file, pointer = found  # type: ignore[misc]
    schema = {"$ref": f"urn:sendgrid-oas:{file}#{pointer}"}
    return OAS31Validator(schema, registry=registry()), specific


def classify(error: Any) -> str:
    """Name the deviation class of one validation error (``other`` = unexplained)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "type" and error.instance is None:
        if schema.get("nullable") is True:
            return "oas30-nullable"
        if list(error.absolute_path)[-1:] == ["help"]:
            return "help-null"
    if (
        error.validator in ("minLength", "maxLength")
        and isinstance(error.instance, str)
        and error.instance.startswith("d-")
    ):
        return "dynamic-template-id"
    return "other"


def deviations(path: str, status: int, body: Any) -> list[tuple[str, str]]:
    """Validate ``body``; return ``(class, message)`` for every error found."""
    validator, _ = validator_for(path, status)
    return [(classify(e), e.message) for e in validator.iter_errors(body)]


def item_schema_validator(path: str) -> OAS31Validator:
    """Validator of the 200 schema itself (used for per-item checks, e.g. segments)."""
    file, pointer = schema_pointer(path, 200)  # type: ignore[misc]
    return OAS31Validator({"$ref": f"urn:sendgrid-oas:{file}#{pointer}"}, registry=registry())
