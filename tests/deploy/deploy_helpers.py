"""Helpers of the deployment tests: repository paths (the root on ``sys.path`` for ``deploy``),
env files and ``${VAR}`` interpolation like ``docker compose`` does it."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "Dockerfile"
AIRFLOW_IMAGE_PREFIX = "sendgrid-utilization-airflow:"

#: ``$$`` (escape), ``${NAME[:-|-|:?|?]...}`` or ``$NAME``.
VAR_RE = re.compile(
    r"\$(?:(?P<escape>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)"
    r"(?P<arg>[^}]*))?\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file (comments and blanks skipped)."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=value: {raw!r}"
        out[key.strip()] = value.strip()
    return out


def strip_comments(text: str) -> str:
    """YAML text without comment lines and trailing `` # comments`` (Compose interpolates
    values only, never comments)."""
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lines.append(re.sub(r"\s#\s.*$", "", line))
    return "\n".join(lines)


def variable_references(text: str) -> list[dict[str, str | None]]:
    """Every variable reference of a compose file's values: name, operator, argument."""
    refs = []
    for m in VAR_RE.finditer(strip_comments(text)):
        if m.group("escape"):
            continue
        name = m.group("braced") or m.group("named")
        refs.append({"name": name, "op": m.group("op"), "arg": m.group("arg")})
    return refs


def interpolate(text: str, env: dict[str, str]) -> str:
    """Substitute variables like Compose; raise KeyError for a missing required one."""

    def repl(m: re.Match) -> str:
        if m.group("escape"):
            return "$"
        name = m.group("braced") or m.group("named")
        op, arg = m.group("op"), m.group("arg") or ""
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?") and not value:
            raise KeyError(f"{name}: {arg}")
        return value or ""

    return VAR_RE.sub(repl, text)


def compose_services(compose: dict) -> dict[str, dict]:
    """The services of a loaded compose file."""
    return compose["services"]


def airflow_services(compose: dict) -> dict[str, dict]:
    """The services that run Airflow from the project's image (the simulator runs the image
    without Airflow's entrypoint, ``entrypoint: []``)."""
    return {
        name: svc
        for name, svc in compose_services(compose).items()
        if str(svc.get("image", "")).startswith(AIRFLOW_IMAGE_PREFIX)
        and svc.get("entrypoint") != []
    }


def argv_of(value: Any) -> list[str]:
    """A compose ``command``/``entrypoint`` (string or list) as an argv list."""
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def script_in_image(container_path: str) -> Path:
    """The repository file the Dockerfile copies to ``container_path``."""
    for line in DOCKERFILE.read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"]:
            args = [p for p in parts[1:] if not p.startswith("--")]
            src, dest = args[0], args[-1]
            if container_path.startswith(dest.rstrip("/") + "/"):
                return REPO_ROOT / src / container_path[len(dest.rstrip("/")) + 1 :]
    raise AssertionError(f"{container_path} is not copied into the image by the Dockerfile")
