"""Fixtures of the deployment tests: the compose file, raw and interpolated."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from .deploy_helpers import COMPOSE_FILE, ENV_EXAMPLE, interpolate, read_env_file


@pytest.fixture(scope="session")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="session")
def compose(compose_text: str) -> dict[str, Any]:
    """The compose file as Compose sees it: variables from .env.example, anchors merged."""
    return yaml.safe_load(interpolate(compose_text, read_env_file(ENV_EXAMPLE)))


@pytest.fixture(scope="session")
def compose_raw(compose_text: str) -> dict[str, Any]:
    """The compose file before interpolation."""
    return yaml.safe_load(compose_text)
