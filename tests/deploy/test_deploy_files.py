"""Static checks of deploy/: the Dockerfile and the compose file.

No Docker engine is needed: the Dockerfile is read as text, and the compose
file as YAML after ``docker-compose config`` has validated it in
``make compose-check``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"

# Compose service -> (console script, gRPC port, variable of its listen address).
SERVICES = {
    "ledger": ("ledger-store", 50051, "LEDGER_ADDR"),
    "accounts": ("account-service", 50052, "ACCOUNTS_ADDR"),
    "transactions": ("transaction-service", 50053, "TRANSACTIONS_ADDR"),
}
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "grpcio-tools", "protoc")


def dockerfile_stages() -> list[list[str]]:
    """Return the Dockerfile's stages, each a list of instructions."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["scripts"]


def test_dockerfile_builds_in_a_separate_stage():
    stages = dockerfile_stages()

    assert len(stages) >= 2
    assert re.match(r"FROM \S+ AS builder", stages[0][0], re.IGNORECASE)
    assert any("grpc_tools.protoc" in line for line in stages[0])
    assert any("pip wheel" in line for line in stages[0])


def test_final_image_has_no_build_tools():
    final = dockerfile_stages()[-1]
    runs = " ".join(line for line in final if line.upper().startswith("RUN "))

    assert "-slim" in final[0] or "PYTHON_IMAGE" in final[0]
    for tool in BUILD_TOOLS:
        assert tool not in runs, f"final stage installs {tool}"
    assert any(line.startswith("COPY --from=builder") for line in final)


def test_final_image_runs_as_a_non_root_user():
    final = dockerfile_stages()[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]

    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_image_commands_are_installed_scripts(scripts):
    final = dockerfile_stages()[-1]
    cmd = [line for line in final if line.upper().startswith("CMD ")][-1]

    assert re.search(r'"([\w-]+)"', cmd).group(1) in scripts
    for script, _, _ in SERVICES.values():
        assert script in scripts
    assert "bank-healthcheck" in scripts


def test_compose_starts_each_service_by_its_command(compose):
    assert set(compose["services"]) == set(SERVICES)
    for name, (script, port, listen_var) in SERVICES.items():
        service = compose["services"][name]
        assert service["command"] == [script]
        assert service["environment"][listen_var] == f"0.0.0.0:{port}"
        assert service["restart"] in ("always", "unless-stopped", "on-failure")


def test_compose_health_checks_use_the_grpc_probe(compose):
    for name, (_, port, _) in SERVICES.items():
        check = compose["services"][name]["healthcheck"]
        assert check["test"] == ["CMD", "bank-healthcheck", f"127.0.0.1:{port}"]


def test_front_ends_wait_for_a_healthy_ledger_store(compose):
    for name in ("accounts", "transactions"):
        service = compose["services"][name]
        assert service["depends_on"] == {"ledger": {"condition": "service_healthy"}}
        assert service["environment"]["LEDGER_ADDR"] == "ledger:50051"


def test_database_file_lives_on_a_named_volume(compose):
    ledger = compose["services"]["ledger"]
    db_path = Path(ledger["environment"]["LEDGER_DB_PATH"])
    volume, _, mount = ledger["volumes"][0].partition(":")

    assert volume in compose["volumes"]
    assert db_path.parent == Path(mount)
    for name in ("accounts", "transactions"):
        assert "volumes" not in compose["services"][name]


def test_published_ports_bind_to_loopback_by_default(compose):
    for name in SERVICES:
        for mapping in compose["services"][name]["ports"]:
            published = mapping.rsplit(":", 1)[0]
            default = published.split(":-", 1)[1].rstrip("}")
            assert default.startswith("127.0.0.1:"), mapping
