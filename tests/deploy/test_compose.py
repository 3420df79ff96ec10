"""Static validation of docker-compose.yaml (there is no Docker engine on our machines).

Checked: the Compose specification's JSON schema (vendored in deploy/compose-spec.json), the
services the deployment needs, every referenced host file/directory, every image tag, every
``${VAR}``, every command (``airflow`` subcommands parsed by this Airflow's own CLI parser,
Python modules importable with their arguments accepted, scripts present in the image), and
that no secret is committed.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from .deploy_helpers import (
    COMPOSE_FILE,
    DOCKERFILE,
    ENV_EXAMPLE,
    REPO_ROOT,
    read_env_file,
    variable_references,
)

SCHEMA = REPO_ROOT / "deploy" / "compose-spec.json"
AIRFLOW_IMAGE_PREFIX = "sendgrid-utilization-airflow:"

CORE_SERVICES = {
    "postgres",
    "warehouse",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}


def _services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def _airflow_services(compose: dict) -> dict[str, dict]:
    return {
        name: svc
        for name, svc in _services(compose).items()
        if str(svc.get("image", "")).startswith(AIRFLOW_IMAGE_PREFIX)
    }


def _argv(value: Any) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


# ------------------------------------------------------------------------------------ schema
def test_vendored_schema_has_its_source_note() -> None:
    assert SCHEMA.is_file()
    note = (REPO_ROOT / "deploy" / "compose-spec.SOURCE.md").read_text()
    assert "compose-spec/compose-spec" in note


@pytest.mark.parametrize("which", ["raw", "interpolated"])
def test_compose_file_is_valid_against_the_compose_spec(
    which: str, compose_raw: dict, compose: dict
) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(
        validator.iter_errors(compose_raw if which == "raw" else compose),
        key=lambda e: list(e.absolute_path),
    )
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors
    )


def test_schema_rejects_a_broken_file(compose: dict) -> None:
    """The validation is not vacuous: an unknown service key is an error."""
    schema = json.loads(SCHEMA.read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["redis"]["helthcheck"] = {}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


# ---------------------------------------------------------------------------------- services
def test_the_deployment_has_every_service(compose: dict) -> None:
    services = _services(compose)
    core = {name for name, svc in services.items() if not svc.get("profiles")}
    assert core >= CORE_SERVICES
    assert services["sendgrid-simulator"]["profiles"] == ["demo"]
    assert services["demo-tenants"]["profiles"] == ["demo"]
    assert services["metabase"]["profiles"] == ["bi"]
    assert services["airflow-cli"]["profiles"] == ["debug"]


def test_every_long_running_service_has_a_healthcheck(compose: dict) -> None:
    one_shot = {"airflow-init", "demo-tenants", "airflow-cli"}
    missing = [
        name
        for name, svc in _services(compose).items()
        if name not in one_shot and not svc.get("healthcheck", {}).get("test")
    ]
    assert missing == []


def test_airflow_settings_shared_by_every_airflow_service(compose: dict) -> None:
    airflow = _airflow_services(compose)
    assert set(airflow) >= CORE_SERVICES - {"postgres", "warehouse", "redis"}
    secrets = set()
    for name, svc in airflow.items():
        env = svc["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false", name
        assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
            "http://airflow-apiserver:8080/"
        ), name
        assert env["AIRFLOW_CONN_SENDGRID_WAREHOUSE"].endswith("@warehouse:5432/sendgrid"), name
        assert "@postgres:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CELERY__BROKER_URL"].endswith("@redis:6379/0"), name
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in env, name
        secrets.add((env["AIRFLOW__API_AUTH__JWT_SECRET"], env["AIRFLOW__CORE__FERNET_KEY"]))
    assert len(secrets) == 1, "JWT secret and Fernet key must be the same in every service"


def test_secrets_come_from_env_and_are_not_committed(compose_raw: dict) -> None:
    env = compose_raw["x-airflow-common"]["environment"]
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", env[key]), key
    example = read_env_file(ENV_EXAMPLE)
    secret_keys = [k for k in example if re.search("PASSWORD|SECRET|FERNET", k)]
    assert len(secret_keys) >= 7
    assert {example[k] for k in secret_keys} == {"change-me"}
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT, check=False
    ).returncode
    assert ignored == 0, ".env must be git-ignored"
    tracked = subprocess.run(
        ["git", "ls-files", ".env"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert tracked.strip() == ""


def test_no_pip_additional_requirements(compose_text: str) -> None:
    code = "\n".join(line.split("#", 1)[0] for line in compose_text.splitlines())
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in code


def test_init_creates_pool_and_admin_and_migrates(compose: dict) -> None:
    init = _services(compose)["airflow-init"]
    script = _script_in_image(_argv(init["command"])[0])
    text = script.read_text()
    assert "airflow db migrate" in text
    assert "airflow pools set sendgrid_api" in text
    assert "AIRFLOW_ADMIN_PASSWORD" in text
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"] == "change-me"  # from .env.example


def test_bi_reads_the_marts_through_the_read_only_role() -> None:
    roles = (REPO_ROOT / "deploy/warehouse/init/sendgrid-roles.psql").read_text()
    assert "default_transaction_read_only = on" in roles
    assert "grant usage on schema sendgrid_marts" in roles
    assert "sendgrid_staging" in roles
    script = (REPO_ROOT / "deploy/warehouse/init/10-sendgrid-roles.sh").read_text()
    assert "sendgrid_bi_reader" in script


# ------------------------------------------------------------------------------------- files
def _host_paths(compose: dict) -> list[tuple[str, str]]:
    out = []
    for name, svc in _services(compose).items():
        build = svc.get("build")
        if build:
            context = build if isinstance(build, str) else build.get("context", ".")
            out.append((name, context))
            if isinstance(build, dict) and build.get("dockerfile"):
                out.append((name, str(Path(context) / build["dockerfile"])))
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source.startswith((".", "/")):
                out.append((name, source))
        env_files = svc.get("env_file", [])
        for ef in [env_files] if isinstance(env_files, str | dict) else env_files:
            path, required = (ef, True) if isinstance(ef, str) else (ef["path"], ef["required"])
            if required:
                out.append((name, path))
    return out


def test_every_referenced_host_path_exists(compose: dict) -> None:
    paths = _host_paths(compose)
    assert {p for _, p in paths} >= {".", "Dockerfile", "deploy/airflow.env"}
    missing = [(svc, p) for svc, p in paths if not (REPO_ROOT / p).exists()]
    assert missing == []


def test_named_volumes_are_declared(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for svc in _services(compose).values():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source and not source.startswith((".", "/")):
                used.add(source)
    assert used == declared


def test_env_files_are_valid(compose: dict) -> None:
    for svc in _services(compose).values():
        for ef in svc.get("env_file", []):
            values = read_env_file(REPO_ROOT / ef["path"])
            assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", k) for k in values), values
            assert not [k for k in values if re.search("PASSWORD|SECRET|FERNET|TOKEN", k)]


# ------------------------------------------------------------------------------------ images
def test_every_image_tag_is_pinned(compose: dict) -> None:
    for name, svc in _services(compose).items():
        image = svc.get("image")
        assert image, f"{name}: no image"
        repo, _, tag = image.rpartition(":")
        assert repo, f"{name}: {image} has no repository"
        assert tag, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} is not pinned"


def test_the_airflow_image_is_built_from_the_dockerfile(compose: dict) -> None:
    airflow = _airflow_services(compose)
    assert {svc["build"]["dockerfile"] for svc in airflow.values()} == {"Dockerfile"}
    version = re.search(r'^version = "([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M)
    assert {svc["image"] for svc in airflow.values()} == {AIRFLOW_IMAGE_PREFIX + version.group(1)}


# ------------------------------------------------------------------------------- variables
def test_every_variable_is_defined_or_defaulted(compose_text: str) -> None:
    example = read_env_file(ENV_EXAMPLE)
    refs = variable_references(compose_text)
    assert refs
    undefined = sorted(
        {
            r["name"]
            for r in refs
            if r["name"] not in example and r["op"] not in (":-", "-")  # type: ignore[operator]
        }
    )
    assert undefined == [], f"define these in .env.example or give a default: {undefined}"
    required = {r["name"] for r in refs if r["op"] in (":?", "?")}
    assert required <= set(example)
    unused = sorted(set(example) - {r["name"] for r in refs})
    assert unused == [], f".env.example defines variables nothing uses: {unused}"


def test_container_variables_escape_the_dollar(compose_text: str) -> None:
    """``$${HOSTNAME}`` is read inside the container; a bare ``${HOSTNAME}`` would be blank."""
    names = {r["name"] for r in variable_references(compose_text)}
    assert "HOSTNAME" not in names
    assert "$${HOSTNAME}" in compose_text


# -------------------------------------------------------------------------------- commands
def _script_in_image(container_path: str) -> Path:
    """The repository file the Dockerfile copies to ``container_path``."""
    for line in DOCKERFILE.read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"]:
            args = [p for p in parts[1:] if not p.startswith("--")]
            src, dest = args[0], args[-1]
            if container_path.startswith(dest.rstrip("/") + "/"):
                return REPO_ROOT / src / container_path[len(dest.rstrip("/")) + 1 :]
    raise AssertionError(f"{container_path} is not copied into the image by the Dockerfile")


def _airflow_commands(compose: dict) -> list[tuple[str, list[str]]]:
    """Every ``airflow ...`` invocation: commands, healthchecks and init scripts."""
    found: list[tuple[str, list[str]]] = []
    for name, svc in _airflow_services(compose).items():
        argv = _argv(svc.get("command"))
        entry = _argv(svc.get("entrypoint"))
        if not entry and argv and argv[0] not in ("python", "bash"):
            found.append((name, argv))  # the image's entrypoint runs `airflow <command>`
        if entry == ["/bin/bash"]:
            text = _script_in_image(argv[0]).read_text()
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
    for name, svc in _services(compose).items():
        argv = _argv(svc.get("command"))
        if argv[:2] != ["python", "-m"]:
            continue
        module = argv[2]
        assert module in parsers, f"{name}: unknown module {module}"
        parsers[module]().parse_args(argv[3:])  # SystemExit on an unknown argument
        seen.add(module)
    assert seen == set(parsers)
    sim = _services(compose)["sendgrid-simulator"]
    assert _argv(sim["command"])[3:] == shlex.split(
        "serve --host 0.0.0.0 --port 8025 --seed 42 --scale demo"
    )


def test_worker_healthcheck_targets_the_celery_app(compose: dict) -> None:
    import importlib.util

    test = _services(compose)["airflow-worker"]["healthcheck"]["test"][1]
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


def test_compose_file_name_is_the_official_one() -> None:
    assert COMPOSE_FILE.name == "docker-compose.yaml"
