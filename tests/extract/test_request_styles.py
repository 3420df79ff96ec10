"""Chunked fan-out ids are sent the way SendGrid's OpenAPI spec says each parameter takes them:
repeated (``explode: true``, the default of ``style: form``) or one comma-separated value
(``explode: false``). A repeated ``explode: false`` parameter keeps only one of the ids."""

from __future__ import annotations

import json

import pytest

from sendgrid_elt.catalog import STREAMS
from tests.simulator.spec import SPEC_DIR

CHUNKED = [s for s in STREAMS if s.fan_out and s.fan_out.param]


def _spec_parameter(path: str, name: str) -> dict:
    for file in sorted(SPEC_DIR.glob("*.json")):
        operation = json.loads(file.read_text())["paths"].get(path, {}).get("get")
        for parameter in (operation or {}).get("parameters", []):
            if isinstance(parameter, dict) and parameter.get("name") == name:
                return parameter
    raise AssertionError(f"GET {path} has no parameter {name!r} in the vendored spec")


def test_there_are_chunked_streams() -> None:
    assert {s.name for s in CHUNKED} >= {"singlesend_stats", "category_stats"}


@pytest.mark.parametrize("spec", CHUNKED, ids=[s.name for s in CHUNKED])
def test_chunked_ids_follow_the_parameter_style_of_the_spec(spec) -> None:
    fan = spec.fan_out
    parameter = _spec_parameter(spec.path, fan.param)
    assert parameter.get("style", "form") == "form"
    explode = parameter.get("explode", True)
    assert fan.joined == (explode is False), (spec.name, parameter)
    assert fan.chunk <= parameter["schema"].get("maxItems", fan.chunk)


def test_the_simulator_reads_a_joined_parameter_as_the_spec_says() -> None:
    from sendgrid_simulator.wire import Request

    path = "/v3/marketing/stats/singlesends"
    joined = Request("GET", path, [("singlesend_ids", "a,b,c")], {}, "http://sim")
    repeated = Request("GET", path, [("singlesend_ids", "a"), ("singlesend_ids", "b")], {},
                       "http://sim")  # fmt: skip
    assert joined.csv("singlesend_ids") == ["a", "b", "c"]
    assert repeated.csv("singlesend_ids") == ["b"]  # the other ids are lost
