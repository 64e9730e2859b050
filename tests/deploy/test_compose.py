"""docker/compose.yaml, read as Compose reads it (no Docker needed): what an operator relies on."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings

from hashtagapp.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_TEXT = (DOCKER / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict] = COMPOSE["services"]
DOCKERFILE = (DOCKER / "Dockerfile").read_text()
# Margin between Celery's soft shutdown and Docker's SIGKILL: the worker still acks, closes its
# connections and exits after its tasks are handed back.
SHUTDOWN_MARGIN_SECONDS = 15

# Services run from the project's image, and among them the one-shots others wait for.
APP_SERVICES = {
    name
    for name, service in SERVICES.items()
    if service.get("build", {}).get("dockerfile") == "docker/Dockerfile"
}
ONE_SHOTS = {name for name, service in SERVICES.items() if service.get("restart") == "no"}
LONG_RUNNING = set(SERVICES) - ONE_SHOTS
WORKERS = {name for name in APP_SERVICES if " worker " in " ".join(SERVICES[name].get("command", []))}


def command_text(name: str) -> str:
    return " ".join(SERVICES[name]["command"])


def seconds(duration: str) -> float:
    """A Compose duration such as 90s, 1m30s or 2m."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and any(parts.groups()), duration
    minutes, secs = (int(part or 0) for part in parts.groups())
    return minutes * 60 + secs


def test_the_file_matches_the_compose_specification():
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())

    errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(COMPOSE)]

    assert errors == []


def test_the_expected_services_are_there():
    assert {"db", "redis", "migrate", "models", "web", "vision", "llm", "beat", "proxy"} <= set(SERVICES)
    assert {"migrate", "models"} <= ONE_SHOTS
    assert {"vision", "llm", "beat", "vision-gpu"} == WORKERS


@pytest.mark.parametrize("name", sorted(APP_SERVICES - {"migrate", "models"}))
def test_every_app_service_waits_for_migrate_and_the_model_download(name):
    depends_on = SERVICES[name]["depends_on"]

    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    assert depends_on["models"] == {"condition": "service_completed_successfully"}


def test_migrate_waits_for_a_healthy_database():
    assert SERVICES["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_the_model_download_never_fails_the_stack_and_skips_weights_already_there():
    command = SERVICES["models"]["command"]

    assert command[:3] == ["python", "manage.py", "download_models"]
    assert {"--if-missing", "--best-effort"} <= set(command)
    assert "models:/var/lib/hashtagapp/hf" in SERVICES["models"]["volumes"]


def test_the_one_shots_are_the_setup_steps():
    awaited = {
        dependency
        for service in SERVICES.values()
        for dependency, rule in (service.get("depends_on") or {}).items()
        if rule.get("condition") == "service_completed_successfully"
    }

    assert {"migrate", "models", "minio-bucket"} == ONE_SHOTS
    assert awaited <= ONE_SHOTS


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_long_running_services_come_back_after_a_crash_or_a_reboot(name):
    assert SERVICES[name]["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_service_has_a_healthcheck(name):
    healthcheck = SERVICES[name]["healthcheck"]

    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL")
    assert seconds(healthcheck["timeout"]) <= seconds(healthcheck["interval"])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_memory_limit(name):
    assert re.fullmatch(r"(\$\{[A-Z_]+:-)?\d+[mg]\}?", SERVICES[name]["mem_limit"])


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_service_reads_the_root_env_file(name):
    env_files = SERVICES[name]["env_file"]
    env_files = [env_files] if isinstance(env_files, str) else env_files

    assert [(DOCKER / path).resolve() for path in env_files] == [ROOT / ".env"]


def test_the_documented_command_makes_compose_interpolate_from_the_root_env_file():
    command = "docker compose --env-file .env -f docker/compose.yaml up -d --build"

    assert command in COMPOSE_TEXT
    assert command in (ROOT / "README.md").read_text()
    assert command in (ROOT / "docs" / "deployment.md").read_text()


def test_every_interpolated_variable_is_documented_in_env_example():
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", COMPOSE_TEXT))
    # Variables the containers' shells read from .env (escaped as $$ for Compose).
    in_containers = set(re.findall(r"\$\$\{([A-Z][A-Z0-9_]*)", COMPOSE_TEXT))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))

    assert len(interpolated) > 10
    assert sorted((interpolated | in_containers) - documented) == []


def test_database_credentials_come_from_the_environment_with_defaults():
    environment = SERVICES["web"]["environment"]

    assert environment["DATABASE_URL"].startswith("${DATABASE_URL:-postgres://${POSTGRES_USER:-")
    assert environment["CELERY_BROKER_URL"].startswith("${CELERY_BROKER_URL:-redis://redis:6379/")
    assert SERVICES["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:-")


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_workers_get_longer_than_the_soft_shutdown_before_sigkill(name):
    soft_shutdown = getattr(settings, "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", 60)

    grace = seconds(SERVICES[name]["stop_grace_period"])

    assert grace >= soft_shutdown + SHUTDOWN_MARGIN_SECONDS


def test_web_gets_longer_than_gunicorns_graceful_timeout_before_sigkill(monkeypatch):
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    monkeypatch.delenv("GUNICORN_GRACEFUL_TIMEOUT", raising=False)
    gunicorn = runpy.run_path(str(ROOT / "hashtagapp" / "gunicorn.conf.py"))

    assert seconds(SERVICES["web"]["stop_grace_period"]) > gunicorn["graceful_timeout"]


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_sigterm_starts_the_soft_shutdown_of_every_worker(name):
    # Celery runs its soft shutdown on SIGQUIT; on a plain SIGTERM it waits for tasks without a limit.
    assert SERVICES[name]["environment"]["REMAP_SIGTERM"] == "SIGQUIT"
    assert "REMAP_SIGTERM" not in SERVICES["web"]["environment"]


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_each_worker_has_its_own_node_name_and_its_healthcheck_pings_that_node(name):
    node = re.search(r"--hostname[ =](\S+)@%h", command_text(name)).group(1)
    check = " ".join(SERVICES[name]["healthcheck"]["test"])

    assert f"inspect ping --destination {node}@$$HOSTNAME" in check
    others = [re.search(r"--hostname[ =](\S+)@", command_text(w)).group(1) for w in WORKERS - {name}]
    assert node not in others


def test_vision_and_llm_workers_consume_their_queues_with_tuning_from_env():
    assert "--queues vision " in command_text("vision")
    tuning = '--pool "$${VISION_POOL:-prefork}" --concurrency "$${VISION_CONCURRENCY:-3}"'
    assert tuning in command_text("vision")
    assert "--queues llm " in command_text("llm")
    assert '--concurrency "$${LLM_CONCURRENCY:-4}"' in command_text("llm")
    # The shell is replaced by Celery, so Docker's SIGTERM reaches the worker itself.
    assert SERVICES["vision"]["command"][:2] == ["sh", "-c"]
    assert command_text("vision").split(" ", 2)[2].startswith("exec celery ")


def test_every_queue_celery_routes_to_has_a_consumer():
    consumed = set()
    for name in WORKERS:
        consumed |= set(re.search(r"--queues[ =](\S+)", command_text(name)).group(1).split(","))

    assert {queue.name for queue in celery_app.conf.task_queues} <= consumed


def test_beat_is_a_single_scheduler_with_its_maintenance_worker_and_a_kept_schedule():
    beat = SERVICES["beat"]

    assert beat["command"][:13] == [
        "celery",
        "-A",
        "hashtagapp",
        "worker",
        "--beat",
        "--queues",
        "maintenance",
        "--concurrency",
        "1",
        "--hostname",
        "scheduler@%h",
        "--schedule",
        "/var/lib/hashtagapp/beat/celerybeat-schedule",
    ]
    assert beat["deploy"]["replicas"] == 1
    assert "beat:/var/lib/hashtagapp/beat" in beat["volumes"]


def test_the_proxy_terminates_tls_for_the_site_address_and_forwards_to_web():
    proxy = SERVICES["proxy"]

    assert proxy["image"].startswith("caddy:")
    assert proxy["environment"]["SITE_ADDRESS"] == "${SITE_ADDRESS:-http://localhost}"
    assert proxy["environment"]["WEB_UPSTREAM"] == "web:8000"
    assert {"${HTTP_PORT:-80}:80", "${HTTPS_PORT:-443}:443"} <= set(proxy["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert SERVICES["web"]["environment"]["BEHIND_TLS_PROXY"] == "${BEHIND_TLS_PROXY:-1}"


def test_the_gpu_profile_runs_vision_on_the_cuda_image_with_a_gpu():
    gpu = SERVICES["vision-gpu"]

    assert gpu["profiles"] == ["gpu"]
    assert gpu["build"]["args"] == {"TORCH_VARIANT": "cuda"}
    assert gpu["image"] != SERVICES["vision"]["image"]
    assert gpu["environment"]["CAPTIONS_DEVICE"] == "cuda"
    # Batches across uploads, and both models kept on the GPU by each of its 4 children.
    assert gpu["environment"]["CAPTIONS_GATHER_PHOTOS"] == "${CAPTIONS_GATHER_PHOTOS:-64}"
    assert gpu["environment"]["CAPTIONS_ONE_MODEL_PER_CHILD"] == "false"
    assert '--concurrency "$${VISION_GPU_CONCURRENCY:-4}"' in command_text("vision-gpu")
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["capabilities"] == ["gpu"]
    assert "--queues vision " in command_text("vision-gpu")


def test_the_s3_profile_runs_minio_and_creates_the_bucket():
    assert SERVICES["minio"]["profiles"] == ["s3"]
    bucket = SERVICES["minio-bucket"]
    assert bucket["profiles"] == ["s3"]
    assert bucket["depends_on"]["minio"] == {"condition": "service_healthy"}
    assert 'mc mb --ignore-existing "local/$$BUCKET"' in " ".join(bucket["entrypoint"])
    assert "AWS_S3_PUBLIC_ENDPOINT_URL=" in COMPOSE_TEXT  # How browsers reach the signed URLs.


def test_the_monitoring_profile_runs_flower_on_this_host_only():
    flower = SERVICES["flower"]

    assert flower["profiles"] == ["monitoring"]
    assert flower["command"][:4] == ["celery", "-A", "hashtagapp", "flower"]
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])


def test_every_app_volume_is_a_folder_the_image_creates_for_the_app():
    created = set(re.search(r"install -d -o 10001 -g 10001 -m 0750 ([^&]+)", DOCKERFILE).group(1).split())
    created = {path for path in created if path.startswith("/")}
    mounted = {
        volume.split(":")[1]
        for name in APP_SERVICES
        for volume in SERVICES[name].get("volumes", [])
        if not volume.startswith(".")
    }

    assert mounted
    assert mounted <= created
