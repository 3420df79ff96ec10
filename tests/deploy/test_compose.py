"""Static validation of docker-compose.yaml (there is no Docker engine on our machines).

Checked: the Compose specification's JSON schema (vendored in deploy/compose-spec.json), the
services the deployment needs, every referenced host file/directory, every image tag, every
``${VAR}``, and that no secret is committed. The commands are checked in
``test_compose_commands.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

from sendgrid_elt.settings import DBT_RUNS_DIR_ENV

from .deploy_helpers import (
    AIRFLOW_IMAGE_PREFIX,
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO_ROOT,
    airflow_services,
    argv_of,
    compose_services,
    read_env_file,
    script_in_image,
    variable_references,
)

SCHEMA = REPO_ROOT / "deploy" / "compose-spec.json"

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
    services = compose_services(compose)
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
        for name, svc in compose_services(compose).items()
        if name not in one_shot and not svc.get("healthcheck", {}).get("test")
    ]
    assert missing == []


def test_airflow_settings_shared_by_every_airflow_service(compose: dict) -> None:
    airflow = airflow_services(compose)
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
        secrets.add((env["AIRFLOW__API_AUTH__JWT_SECRET"], env["AIRFLOW__CORE__FERNET_KEY"],
                     env["AIRFLOW__API__SECRET_KEY"]))  # fmt: skip
        # dbt's run artifacts go on the log volume every Airflow container mounts
        runs = env[DBT_RUNS_DIR_ENV]
        assert any(runs.startswith(v.split(":")[1] + "/") for v in svc["volumes"]), name
    assert len(secrets) == 1, "JWT secret, Fernet key and secret_key: the same in every service"


def test_secrets_come_from_env_and_are_not_committed(compose_raw: dict) -> None:
    env = compose_raw["x-airflow-common"]["environment"]
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
                "AIRFLOW__API__SECRET_KEY"):  # fmt: skip
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
    init = compose_services(compose)["airflow-init"]
    script = script_in_image(argv_of(init["command"])[0])
    text = script.read_text()
    assert "airflow db migrate" in text
    assert "airflow pools set sendgrid_api" in text
    assert "AIRFLOW_ADMIN_PASSWORD" in text
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"] == "change-me"  # from .env.example
    # root, as the script's chown of the fresh named volumes and its password file need
    assert init["user"] == "0:0"
    assert 'chown -R "${AIRFLOW_UID}:0"' in text
    # compose fills in its own file, not the script: what the script reads must be passed in
    local = {name for name, value in re.findall(r"^([A-Z_][A-Z0-9_]*)=(.*)$", text, re.M)
             if "${" + name not in value}  # fmt: skip
    read = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text)) - local
    assert {"AIRFLOW_UID", "AIRFLOW_ADMIN_USERNAME"} <= read
    assert read <= set(init["environment"]), read - set(init["environment"])


def test_the_warehouse_admits_every_extracting_tenant_thread(compose: dict) -> None:
    """Each tenant thread holds two warehouse connections (loader, health): the default pool
    times the tenant threads times two, plus room for dbt, BI and admins."""
    from sendgrid_elt.settings import EXTRACT_TENANT_THREADS

    warehouse = compose_services(compose)["warehouse"]
    (limit,) = (int(a.split("=")[1]) for a in warehouse["command"] if "max_connections" in a)
    worker = airflow_services(compose)["airflow-worker"]
    slots = int(worker["environment"]["SENDGRID_API_POOL_SLOTS"])
    assert limit >= slots * EXTRACT_TENANT_THREADS * 2 + 50, (limit, slots)


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
    for name, svc in compose_services(compose).items():
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
    for svc in compose_services(compose).values():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source and not source.startswith((".", "/")):
                used.add(source)
    assert used == declared


def test_env_files_are_valid(compose: dict) -> None:
    for svc in compose_services(compose).values():
        for ef in svc.get("env_file", []):
            values = read_env_file(REPO_ROOT / ef["path"])
            assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", k) for k in values), values
            assert not [k for k in values if re.search("PASSWORD|SECRET|FERNET|TOKEN", k)]


# ------------------------------------------------------------------------------------ images
def test_every_image_tag_is_pinned(compose: dict) -> None:
    for name, svc in compose_services(compose).items():
        image = svc.get("image")
        assert image, f"{name}: no image"
        repo, _, tag = image.rpartition(":")
        assert repo, f"{name}: {image} has no repository"
        assert tag, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} is not pinned"


def test_the_airflow_image_is_built_from_the_dockerfile(compose: dict) -> None:
    airflow = airflow_services(compose)
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


def test_compose_file_name_is_the_official_one() -> None:
    assert COMPOSE_FILE.name == "docker-compose.yaml"
