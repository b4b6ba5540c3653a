"""The deployment files say what the code does: compose and the k8s manifests validate against
their published schemas, every variable they set is a setting some service reads, the GPU
workers get a GPU and their models where MODEL_DIR says, and KEDA watches the real streams."""

import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from infra.processes import POSTURE_PYTHON, REPO
from saekdam_backbone.queue import stream_for
from saekdam_contracts.redis_keys import WORKER_GROUP
from tests.fixtures.compose import command_of, compose

K8S = REPO / "k8s"

# Read by something other than a settings class: uvicorn's own options (HOST, PORT,
# FORWARDED_ALLOW_IPS), boto3's credentials, the storage set-up's CORS origins.
NOT_SETTINGS = {"HOST", "PORT", "FORWARDED_ALLOW_IPS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


# -- the settings each service reads -------------------------------------------------------


def env_names(settings_class) -> set[str]:
    """Environment variables a pydantic-settings class reads (nested settings included)."""
    from pydantic_settings import BaseSettings

    prefix = settings_class.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings_class.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            names |= env_names(annotation)  # read from the environment on its own
        else:
            names.add((prefix + name).upper())
    return names


@cache
def service_settings() -> dict[str, set[str]]:
    from saekdam_api.settings import ApiSettings
    from saekdam_backbone.settings import BackboneSettings
    from saekdam_worker.settings import WorkerSettings

    # The posture service lives in its own environment (MediaPipe pins numpy < 2).
    posture = subprocess.run(
        [str(POSTURE_PYTHON), "-c", "import json; from saekdam_posture.settings import "
         "PostureSettings as S; print(json.dumps(sorted(S.model_fields)))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {
        "api": env_names(ApiSettings),
        "worker": env_names(WorkerSettings),
        "posture": {name.upper() for name in json.loads(posture.stdout)},
        "backbone": env_names(BackboneSettings) | {"ALLOWED_ORIGINS"},  # storage set-up
        "migrate": {"DATABASE_URL", "LOG_JSON", "LOG_LEVEL"},
    }


def reads(command: list[str]) -> str:
    """Which settings a container's command reads, from the module it runs."""
    module = command[command.index("-m") + 1] if "-m" in command else ""
    if module.endswith(".db.migrate"):
        return "migrate"
    if module.startswith("saekdam_backbone"):
        return "backbone"
    for service in ("api", "worker", "posture"):
        if module.startswith(f"saekdam_{service}"):
            return service
    raise AssertionError(f"unknown command {command}")


def test_compose_follows_the_compose_specification():
    import check_jsonschema

    schema_file = (
        Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    )
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose(), schema)


def test_every_compose_variable_is_a_setting_its_service_reads():
    known = service_settings()
    checked = set()
    for name, service in compose()["services"].items():
        if (command := command_of(service)) is None:
            continue  # postgres, redis, SeaweedFS, Caddy, the web client's files: not ours
        checked.add(name)
        service_kind = reads(command)
        unknown = set(service.get("environment", {})) - known[service_kind] - NOT_SETTINGS
        assert not unknown, f"compose service {name} sets {sorted(unknown)}, unknown to it"
    assert checked >= {"api", "worker-gpu", "worker-cpu", "posture", "models", "migrate", "s3-init"}


def test_the_gpu_worker_gets_a_gpu_and_its_models_at_model_dir():
    services = compose()["services"]
    gpu = services["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    model_dir = gpu["environment"]["MODEL_DIR"]
    assert f"models:{model_dir}:ro" in gpu["volumes"]
    assert gpu["environment"]["LORA_DIR"].startswith(model_dir + "/")
    # The one-shot download fills the same volume, and the GPU worker waits for it.
    assert services["models"]["environment"]["MODEL_DIR"] == model_dir
    assert f"models:{model_dir}" in services["models"]["volumes"]
    assert gpu["depends_on"]["models"]["condition"] == "service_completed_successfully"
    assert json.loads(gpu["environment"]["WORKER_KINDS"]) == ["mural", "sketch"]
    cpu = services["worker-cpu"]
    assert "deploy" not in cpu or "resources" not in cpu["deploy"]
    assert json.loads(cpu["environment"]["WORKER_KINDS"]) == ["filter", "panorama"]


def test_compose_runs_every_service_in_production_mode():
    services = compose()["services"]
    for name in ("api", "worker-gpu", "worker-cpu", "posture"):
        assert services[name]["environment"]["ENVIRONMENT"] == "production", name


# -- kubernetes ---------------------------------------------------------------------------


@cache
def k8s_objects() -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its kustomize) is needed to build k8s/"
    built = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def k8s(kind: str, name: str) -> dict:
    (found,) = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "Gateway", "HTTPRoute"}


def test_kustomize_builds_and_every_core_object_passes_strict_schema_validation():
    import kubernetes_validate

    kinds = set()
    for obj in k8s_objects():
        kinds.add(obj["kind"])
        if obj["kind"] in CUSTOM_KINDS:
            continue  # validated against their CRDs' schemas below
        kubernetes_validate.validate(obj, "1.33", strict=True)
    assert kinds >= {"Deployment", "Service", "Job", "HorizontalPodAutoscaler",
                     "PodDisruptionBudget", "NetworkPolicy", "PersistentVolumeClaim"}  # fmt: skip
    assert kinds >= CUSTOM_KINDS
    assert "Ingress" not in kinds  # no ingress-nginx: the Gateway API is the entrance


def test_the_custom_resources_pass_their_crds_schemas():
    node = shutil.which("node")
    assert node, "Node is needed (as for the web client)"
    schemas = REPO / "infra" / "k8s-schemas"
    assert (schemas / "node_modules").is_dir(), f"`make test` installs {schemas} (npm ci)"
    custom = [o for o in k8s_objects() if o["kind"] in CUSTOM_KINDS]
    checked = subprocess.run(
        [node, str(schemas / "validate.mjs")],
        input=json.dumps(custom), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("valid: ") == len(custom) == len(CUSTOM_KINDS)


def containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def test_every_k8s_variable_is_a_setting_its_container_reads():
    known = service_settings()
    config = k8s("ConfigMap", "saekdam-config")["data"]
    readers = set()
    for obj in k8s_objects():
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers(obj):
            if (command := command_of(container)) is None:
                continue  # the web client's files
            kind = reads(command)
            env = {e["name"] for e in container.get("env", [])}
            unknown = env - known[kind] - NOT_SETTINGS
            assert not unknown, f"{obj['metadata']['name']}/{container['name']}: {sorted(unknown)}"
            if any("configMapRef" in source for source in container.get("envFrom", [])):
                readers |= known[kind]
    unread = set(config) - readers - NOT_SETTINGS
    assert not unread, f"the ConfigMap sets {sorted(unread)}, which no container reads"


def test_the_k8s_gpu_worker_has_a_gpu_its_models_and_a_liveness_probe():
    deployment = k8s("Deployment", "saekdam-worker-gpu")
    pod = deployment["spec"]["template"]["spec"]
    (worker,) = pod["containers"]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] and pod["tolerations"]
    env = {e["name"]: e.get("value") for e in worker["env"]}
    mounts = {m["name"]: m["mountPath"] for m in worker["volumeMounts"]}
    assert mounts["models"] == env["MODEL_DIR"]
    volume = next(v for v in pod["volumes"] if v["name"] == "models")
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert k8s("PersistentVolumeClaim", claim)
    job = k8s("Job", "saekdam-models")
    job_pod = job["spec"]["template"]["spec"]
    assert job_pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim
    assert job_pod["containers"][0]["volumeMounts"][0]["mountPath"] == env["MODEL_DIR"]
    probe = worker["livenessProbe"]["exec"]["command"]
    assert probe[:3] == ["python", "-m", "saekdam_worker.liveness"]
    assert pod["initContainers"][0]["command"][-2] == "--wait"  # schema first


def test_keda_scales_the_gpu_workers_on_their_real_streams_and_group():
    scaled = k8s("ScaledObject", "saekdam-worker-gpu")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "saekdam-worker-gpu"
    deployment = k8s("Deployment", "saekdam-worker-gpu")
    (worker,) = deployment["spec"]["template"]["spec"]["containers"]
    kinds = json.loads(next(e["value"] for e in worker["env"] if e["name"] == "WORKER_KINDS"))
    triggers = scaled["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"redis-streams"}
    assert {t["metadata"]["stream"] for t in triggers} == {stream_for(kind) for kind in kinds}
    assert {t["metadata"]["consumerGroup"] for t in triggers} == {WORKER_GROUP}
    for kind in kinds:  # lag (wakes the pool from zero) and pending (the running jobs)
        measures = {
            key
            for t in triggers
            if t["metadata"]["stream"] == stream_for(kind)
            for key in ("lagCount", "pendingEntriesCount")
            if key in t["metadata"]
        }
        assert measures == {"lagCount", "pendingEntriesCount"}, kind
    auth = k8s("TriggerAuthentication", triggers[0]["authenticationRef"]["name"])
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} == {"address", "password"}
    # The example Secret documents those keys.
    example = list(yaml.safe_load_all((K8S / "secret.example.yaml").read_text()))
    redis_secret = next(d for d in example if d["metadata"]["name"] == "saekdam-redis")
    assert set(redis_secret["stringData"]) == {"address", "password"}


def test_the_routes_reach_every_public_path_and_the_websockets_never_time_out():
    route = k8s("HTTPRoute", "saekdam")
    services = {o["metadata"]["name"] for o in k8s_objects() if o["kind"] == "Service"}
    for rule in route["spec"]["rules"]:
        for backend in rule["backendRefs"]:
            assert backend["name"] in services
    websocket_rules = [
        r for r in route["spec"]["rules"] if r.get("timeouts", {}).get("request") == "0s"
    ]
    paths = {m["path"]["value"] for r in websocket_rules for m in r["matches"]}
    assert paths == {"/v1/posture/stream", "^/v1/tasks/[^/]+/events$"}
    for name in ("saekdam-api", "saekdam-posture"):
        (port,) = k8s("Service", name)["spec"]["ports"]
        assert port["appProtocol"] == "kubernetes.io/ws"


@pytest.mark.parametrize(
    "name", ["saekdam-api", "saekdam-posture", "saekdam-worker-gpu", "saekdam-worker-cpu"]
)
def test_new_pods_wait_for_the_schema_before_they_serve(name):
    (wait,) = k8s("Deployment", name)["spec"]["template"]["spec"]["initContainers"]
    assert wait["command"][2].endswith(".db.migrate") and wait["command"][3] == "--wait"


DOCKERFILES = sorted(REPO.glob("services/*/Dockerfile"))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_dockerfile_passes_hadolint(dockerfile):
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    linted = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_every_port_is_the_one_its_service_listens_on():
    config = k8s("ConfigMap", "saekdam-config")["data"]
    for name in ("saekdam-api", "saekdam-posture", "saekdam-worker-gpu", "saekdam-worker-cpu"):
        (container,) = k8s("Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        if "worker" in name:  # metrics only: METRICS_PORT from the ConfigMap
            assert ports == {"metrics": int(config["METRICS_PORT"])}, name
        else:  # uvicorn on PORT
            assert ports == {"http": int(env["PORT"])}, name
    services = compose()["services"]
    for name in ("worker-gpu", "worker-cpu"):
        assert services[name]["expose"] == [services[name]["environment"]["METRICS_PORT"]]
    for name in ("api", "posture"):  # the images' default PORT (8000) behind the proxy
        assert services[name]["expose"] == ["8000"]
    caddyfile = (REPO / "infra" / "proxy" / "Caddyfile").read_text()
    assert "{$API_UPSTREAM:api:8000}" in caddyfile
    assert "{$POSTURE_UPSTREAM:posture:8000}" in caddyfile
