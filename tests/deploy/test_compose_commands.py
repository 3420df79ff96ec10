"""Static validation of docker-compose.yaml's commands (there is no Docker engine here).

Every ``airflow`` subcommand is parsed by this Airflow's own CLI parser, every Python module
is importable and accepts its arguments, every script is present in the image and parses.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from .deploy_helpers import REPO_ROOT, airflow_services, argv_of, compose_services, script_in_image


# -------------------------------------------------------------------------------- commands
def _airflow_commands(compose: dict) -> list[tuple[str, list[str]]]:
    """Every ``airflow ...`` invocation: commands, healthchecks and init scripts."""
    found: list[tuple[str, list[str]]] = []
    for name, svc in airflow_services(compose).items():
        argv = argv_of(svc.get("command"))
        entry = argv_of(svc.get("entrypoint"))
        if not entry and argv and argv[0] not in ("python", "bash"):
            found.append((name, argv))  # the image's entrypoint runs `airflow <command>`
        if entry == ["/bin/bash"]:
            text = script_in_image(argv[0]).read_text()
            found += [(name, c) for c in _airflow_lines(text)]
        test = svc.get("healthcheck", {}).get("test", [])
        if test and test[0] == "CMD-SHELL" and test[1].startswith("airflow "):
            found.append((name, shlex.split(test[1])[1:]))
    return found


def _airflow_lines(script: str) -> list[list[str]]:
    """``airflow ...`` command lines of a shell script (also inside ``$(...)``)."""
    joined = script.replace("\\\n", " ")
    out = []
    for raw in joined.splitlines():
        line = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_]+", "X", raw.strip())
        if line.startswith("#"):
            continue
        out += [shlex.split(m.group(1)) for m in re.finditer(r"\$\(airflow ([^)]*)\)", line)]
        if line.startswith("airflow "):
            out.append(shlex.split(line)[1:])
    return out


_PARSE_SCRIPT = r"""
import contextlib, io, json, sys
from airflow.cli import cli_parser
parser = cli_parser.get_parser()
commands, subs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
bad = {}
for argv in commands:
    try:
        parser.parse_args([a if a != "X" else "8" for a in argv])
    except SystemExit as exc:
        bad[" ".join(argv)] = exc.code
for sub in subs:  # what `airflow <sub> --help` does, without one interpreter per subcommand
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            parser.parse_args([*sub, "--help"])
    except SystemExit as exc:
        if exc.code != 0 or "usage: airflow" not in out.getvalue().lower():
            bad[" ".join(sub) + " --help"] = exc.code
    else:
        bad[" ".join(sub) + " --help"] = "no help"
print(json.dumps(bad))
"""


def test_every_airflow_command_exists_in_this_airflow(compose: dict, tmp_path: Path) -> None:
    """Parse each command line with the CLI parser of the installed Airflow (CeleryExecutor,
    so the ``celery`` group is there), and ask each subcommand for its ``--help``."""
    commands = _airflow_commands(compose)
    subs = {tuple(argv[:2]) if argv[0] in {"celery", "db", "pools", "jobs"} else (argv[0],)
            for _, argv in commands}  # fmt: skip
    assert {("api-server",), ("scheduler",), ("dag-processor",), ("triggerer",)} <= subs
    assert {("celery", "worker"), ("db", "migrate"), ("pools", "set"), ("jobs", "check")} <= subs
    env = _cli_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _PARSE_SCRIPT, json.dumps([argv for _, argv in commands]),
         json.dumps(sorted(subs))],
        env=env, capture_output=True, text=True, check=False, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {}
    # and once through the real entry point
    helped = subprocess.run(
        [sys.executable, "-m", "airflow", "celery", "worker", "--help"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "--celery-hostname" in helped.stdout


def _cli_env(tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'airflow.db'}",
    )
    return env


def test_python_commands_exist_and_accept_their_arguments(compose: dict) -> None:
    from deploy import demo_tenants
    from sendgrid_simulator import cli as simulator_cli

    parsers = {
        "sendgrid_simulator": simulator_cli.build_parser,
        "deploy.demo_tenants": demo_tenants.build_parser,
    }
    seen = set()
    for name, svc in compose_services(compose).items():
        argv = argv_of(svc.get("command"))
        if argv[:2] != ["python", "-m"]:
            continue
        module = argv[2]
        assert module in parsers, f"{name}: unknown module {module}"
        parsers[module]().parse_args(argv[3:])  # SystemExit on an unknown argument
        seen.add(module)
    assert seen == set(parsers)
    sim = compose_services(compose)["sendgrid-simulator"]
    assert argv_of(sim["command"])[3:] == shlex.split(
        "serve --host 0.0.0.0 --port 8025 --seed 42 --scale demo"
    )


def test_worker_healthcheck_targets_the_celery_app(compose: dict) -> None:
    import importlib.util

    test = compose_services(compose)["airflow-worker"]["healthcheck"]["test"][1]
    app_path = re.search(r"--app (\S+)", test).group(1)
    module, _, attr = app_path.rpartition(".")
    spec = importlib.util.find_spec(module)
    assert spec
    assert spec.origin
    source = Path(spec.origin).read_text()
    # a module attribute, or one served by the module's __getattr__ (the provider does that)
    assert re.search(rf"^{attr}\b.*=", source, re.M) or f'name == "{attr}"' in source


def test_shell_scripts_parse() -> None:
    scripts = [
        REPO_ROOT / "deploy/airflow-init.sh",
        REPO_ROOT / "deploy/warehouse/init/10-sendgrid-roles.sh",
        *sorted((REPO_ROOT / "deploy").glob("*.sh")),
    ]
    for script in scripts:
        subprocess.run(["bash", "-n", str(script)], check=True)


def test_the_documented_fernet_key_command_needs_only_python() -> None:
    """The Fernet-key line of docs/deploy.md and .env.example runs on a host Python without
    site-packages (no ``cryptography``) and prints a key Airflow accepts."""
    from cryptography.fernet import Fernet

    for doc in (REPO_ROOT / "docs/deploy.md", REPO_ROOT / ".env.example"):
        line = next(x for x in doc.read_text().splitlines() if "urlsafe_b64encode" in x)
        code = re.search(r'python3 -c "([^"]+)"', line).group(1)
        out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                             text=True, check=True, timeout=30)  # fmt: skip
        Fernet(out.stdout.strip())  # raises on a malformed key
