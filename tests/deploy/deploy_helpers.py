"""Helpers of the deployment tests: repository paths (the root on ``sys.path`` for ``deploy``),
env files and ``${VAR}`` interpolation like ``docker compose`` does it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "Dockerfile"

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
