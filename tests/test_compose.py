"""docker-compose.yml: valid Compose, and everything it names exists in the code."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import compose_check
from compose_check import COMPOSE, THREE_BROKERS_ENV, load, problems, read_env_file

from infra.gateway_nginx import upstream_variable
from infra.registry import PARTS, SERVICES

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_compose_file_follows_the_compose_specification(tmp_path):
    result = _validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr

    compose = load()
    compose["services"]["gateway"]["imagee"] = "shiliu:latest"  # a misspelt key
    broken = tmp_path / "docker-compose.json"  # JSON is YAML too
    broken.write_text(json.dumps(compose))
    result = _validate(broken)
    assert result.returncode != 0 and "imagee" in result.stdout + result.stderr


def test_every_command_wsgi_target_port_and_variable_it_names_exists():
    compose = load()
    assert problems(compose) == []
    assert problems(compose, read_env_file(THREE_BROKERS_ENV)) == []
    assert compose_check.env_example_problems() == []


def test_a_compose_file_naming_a_missing_command_port_or_variable_fails_the_check():
    compose = load()
    broken = copy.deepcopy(compose)
    services = broken["services"]
    services["ledger-worker"]["command"] = ["shiliu", "wroker", "ledger"]
    services["volunteers-worker"]["command"] = ["shiliu", "worker", "payments"]
    services["web"]["command"] = [*services["web"]["command"][:-1], "infra.wsgi:create('webb')"]
    services["ledger"]["command"] = [*services["ledger"]["command"][:-1], "infra.wsgii:create"]
    services["gateway"]["ports"] = ["8000:8080"]
    services["gateway"]["environment"]["SHILIU_UPSTREAM_LEDGER"] = "ledger:8001"
    del services["gateway"]["environment"]["SHILIU_UPSTREAM_WEB"]
    services["gateway"]["healthcheck"]["test"][-1] = "http://127.0.0.1:80/healthz"
    services["postgres"]["volumes"][1] = "./infra/postgres/create-database.sh:/initdb.d/a.sh:ro"
    services["activities"]["environment"]["SHILIU_KAFKA_BOOTSTRAP"] = "kafka:9094"
    services["activities"]["environment"]["SHILIU_KAFKA_BOOTSTRAPS"] = "kafka:9092"
    services["activities"]["healthcheck"] = {
        "test": ["CMD", "shiliu", "probe", "http://127.0.0.1:8080/healthz"]
    }

    found = "\n".join(problems(broken))
    assert "ledger-worker: `shiliu wroker ledger`: No such command 'wroker'" in found
    assert "volunteers-worker: `shiliu worker payments`: Invalid value" in found
    assert "web: gunicorn target infra.wsgi:create('webb'): no part 'webb'" in found
    assert "ledger: gunicorn target infra.wsgii:create: ModuleNotFoundError" in found
    assert "gateway: publishes container port 8080, but listens on [8000]" in found
    assert (
        "SHILIU_UPSTREAM_LEDGER expects ledger on port 8001, but ledger listens on [8000]" in found
    )
    assert "SHILIU_KAFKA_BOOTSTRAP expects kafka on port 9094" in found
    assert "activities: SHILIU_KAFKA_BOOTSTRAPS is read nowhere in the code" in found
    assert "activities health check: probes port 8080, but listens on [8000]" in found
    assert (
        "gateway: infra/nginx/shiliu.conf.template needs SHILIU_UPSTREAM_WEB, "
        "which its environment does not give it" in found
    )
    assert "gateway health check: probes port 80, but listens on [8000]" in found
    assert "postgres: mounts infra/postgres/create-database.sh, which does not exist" in found
    assert len(problems(broken)) == 12, found


def test_each_service_runs_its_api_and_its_worker_behind_one_nginx_gateway():
    services = load()["services"]
    for name in SERVICES:
        assert services[name]["command"][-1] == f"infra.wsgi:create('{name}')"
        assert services[f"{name}-worker"]["command"] == ["shiliu", "worker", name]
        assert "healthcheck" in services[name] and "healthcheck" in services[f"{name}-worker"]
    gateway = services["gateway"]
    assert gateway["image"].startswith("nginx:") and "command" not in gateway
    assert gateway["environment"]["SHILIU_UPSTREAM_LEDGER"] == "ledger:8000"
    assert {upstream_variable(part) for part in PARTS} <= set(gateway["environment"])
    assert set(gateway["depends_on"]) == set(PARTS)
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["gateway"], "only the gateway is reachable from outside"


def test_topics_are_kept_forever_and_three_brokers_replicate_each_one_three_times():
    services = load()["services"]
    topics = services["topics"]["command"]
    assert topics[:3] == ["shiliu", "topics", "--create"]
    assert topics[topics.index("--retention-ms") + 1] == "-1"

    cluster = [name for name, s in services.items() if "three-brokers" in s.get("profiles", [])]
    assert cluster == ["kafka-1", "kafka-2", "kafka-3"]
    for name in cluster:
        env = services[name]["environment"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].count("@") == 3
    three = read_env_file(THREE_BROKERS_ENV)
    assert three["TOPIC_REPLICATION_FACTOR"] == "3" and three["SINGLE_KAFKA_SCALE"] == "0"
    assert services["kafka"]["environment"]["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"


def test_the_image_is_slim_multi_stage_and_runs_as_a_user_other_than_root():
    dockerfile = (COMPOSE.parent / "infra" / "docker" / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and all("python:3.11-slim" in line for line in stages)
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (COMPOSE.parent / source).exists(), f"{source} is copied but missing"
    assert "infra/compose.env" in (COMPOSE.parent / ".gitignore").read_text().splitlines()
