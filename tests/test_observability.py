"""infra/observability: the Prometheus configs, the alert rules and the Grafana dashboard.

Every metric the rules and the dashboard query is one the code registers (the API's and the
workers' registries, imported; the posture service's metrics module, parsed: it lives in its
own venv), with labels it really has; every alert has a severity, a summary and a runbook
section in the README; the scrape configs match what docker-compose.yml and k8s/ provide.
With `promtool` on PATH the files also go through `promtool check` and rule unit tests;
without it the structural checks below are what there is.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from saekdam_api.metrics import registry as api_registry
from saekdam_contracts.jobs import JOB_SPECS
from saekdam_worker.metrics import registry as worker_registry

ROOT = Path(__file__).resolve().parent.parent
OBS = ROOT / "infra" / "observability"
ALERTS = OBS / "alerts.yml"
COMPOSE_CONFIG = OBS / "prometheus.yml"
K8S_CONFIG = OBS / "prometheus-k8s.yml"
DASHBOARD = OBS / "grafana-dashboard.json"
README = OBS / "README.md"

METRIC_MODULES = {
    "api": ROOT / "services/api/saekdam_api/metrics.py",
    "worker": ROOT / "services/model_worker/saekdam_worker/metrics.py",
    "posture": ROOT / "services/posture/saekdam_posture/metrics.py",
}
JOBS = {"saekdam-api", "saekdam-posture", "saekdam-worker", "dcgm-exporter"}
# Labels Prometheus itself puts on every series of a target.
BUILTIN_TARGET_LABELS = {"job", "instance"}
# Names that come from outside the code: Prometheus' own and NVIDIA's DCGM exporter.
EXTERNAL_METRIC = re.compile(r"up|DCGM_FI_\w+")
SEVERITIES = {"warning", "critical"}
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")

# PromQL functions and aggregations the files may call (a typo is not a metric either).
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta",
    "deriv", "floor", "group", "histogram_quantile", "idelta", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "max", "max_over_time", "min",
    "min_over_time", "predict_linear", "quantile", "quantile_over_time", "rate", "resets",
    "round", "scalar", "sort", "sort_desc", "stddev", "sum", "sum_over_time", "time",
    "timestamp", "topk", "vector",
}  # fmt: skip
KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan",
}  # fmt: skip


# --- what the code registers ----------------------------------------------------------------


def exposed_names(metric_type: str, name: str) -> set[str]:
    """The sample names prometheus_client exposes for one metric."""
    if metric_type == "counter":
        base = name.removesuffix("_total")
        return {f"{base}_total", f"{base}_created"}
    if metric_type == "histogram":
        return {f"{name}{suffix}" for suffix in ("_bucket", "_count", "_sum", "_created")}
    if metric_type == "summary":
        return {name} | {f"{name}{suffix}" for suffix in ("_count", "_sum", "_created")}
    return {name}


def registry_names(registry) -> set[str]:
    names = set()
    for family in registry.collect():
        names |= exposed_names(family.type, family.name)
    return names


_DECLARATION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary)\(\s*"
    r'"(?P<name>[^"]+)"\s*,'  # the name
    r'(?:\s*"(?:[^"\\]|\\.)*")+'  # the help text, maybe in several literals
    r"(?:\s*,\s*\[(?P<labels>[^\]]*)\])?"  # the label names, when given positionally
)


def declared_metrics(source: Path) -> dict[str, set[str]]:
    """Exposed sample name -> its label names, parsed from a metrics module's source."""
    metrics = {}
    for match in _DECLARATION.finditer(source.read_text()):
        labels = set(re.findall(r'"(\w+)"', match["labels"] or ""))
        metric_type = match[1].lower()
        for name in exposed_names(metric_type, match["name"]):
            metrics[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return metrics


CODE_METRICS = {service: declared_metrics(path) for service, path in METRIC_MODULES.items()}
ALL_METRICS = {name: labels for found in CODE_METRICS.values() for name, labels in found.items()}


def test_source_parsing_finds_what_the_registries_hold():
    """The parser that reads the posture service's metrics agrees with the real registries."""
    assert set(CODE_METRICS["api"]) == registry_names(api_registry)
    assert set(CODE_METRICS["worker"]) == registry_names(worker_registry)
    assert {"saekdam_posture_frames_total", "saekdam_posture_frame_seconds_bucket"} <= set(
        CODE_METRICS["posture"]
    )
    assert CODE_METRICS["worker"]["saekdam_job_duration_seconds_bucket"] == {
        "kind",
        "outcome",
        "le",
    }


# --- PromQL, just enough to find the names ----------------------------------------------------


def parse_promql(expr: str) -> tuple[list[tuple[str | None, set[str]]], set[str], set[str]]:
    """(selectors as (metric name or None, label names matched), label names in by/on/...
    clauses, functions called)."""
    expr = re.sub(r"\$\{[^}]*\}|\$\w+", "5m", expr)  # Grafana's $__rate_interval and co.
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    selectors: list[tuple[str | None, set[str]]] = []

    def braces(match: re.Match) -> str:
        labels = set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", match[2]))
        selectors.append((match[1], labels))
        return " " if match[1] is None else " __seen__ "

    expr = re.sub(r"(?<![\w:])([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}", braces, expr)
    grouping: set[str] = set()
    for clause in re.finditer(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr
    ):
        grouping |= {label.strip() for label in clause[1].split(",") if label.strip()}
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    functions = set(re.findall(r"(?<![\w:.])([A-Za-z_][\w]*)\s*\(", expr)) - KEYWORDS
    for name in re.findall(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", expr):
        if name not in KEYWORDS and name != "__seen__":
            selectors.append((name, set()))
    return selectors, grouping, functions


def test_the_promql_parser_itself():
    selectors, grouping, functions = parse_promql(
        'histogram_quantile(0.95, sum by (kind, le) (rate(a_bucket{outcome="x",job=~"y"}'
        "[$__rate_interval]))) > 0.5 and on (kind) b offset 10m unless absent(c == 1e3)"
    )
    assert sorted(selectors, key=str) == sorted(
        [("a_bucket", {"outcome", "job"}), ("b", set()), ("c", set())], key=str
    )
    assert grouping == {"kind", "le"}
    assert functions == {"histogram_quantile", "sum", "rate", "absent"}


# --- the files ----------------------------------------------------------------------------------


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def dashboard_panels(panels: list[dict] | None = None) -> list[dict]:
    found = []
    for panel in panels if panels is not None else json.loads(DASHBOARD.read_text())["panels"]:
        found.append(panel)
        found += dashboard_panels(panel.get("panels", []))
    return found


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard_panels() for t in p.get("targets", []) if "expr" in t]


def target_labels(config: dict) -> set[str]:
    """Labels the scrape configs put on targets (relabelling into a non-meta label)."""
    labels = set(BUILTIN_TARGET_LABELS)
    for job in config["scrape_configs"]:
        for step in job.get("relabel_configs", []):
            target = step.get("target_label")
            if target and not target.startswith("__"):
                labels.add(target)
    return labels


TARGET_LABELS = target_labels(load_yaml(COMPOSE_CONFIG)) | target_labels(load_yaml(K8S_CONFIG))
ALL_EXPRS = [(f"alert {r['alert']}", r["expr"]) for r in alert_rules()] + [
    ("dashboard", expr) for expr in dashboard_exprs()
]


@pytest.mark.parametrize(("where", "expr"), ALL_EXPRS, ids=[w for w, _ in ALL_EXPRS])
def test_queries_use_only_registered_metrics_and_their_labels(where, expr):
    selectors, grouping, functions = parse_promql(expr)
    assert selectors, f"{where}: no metric found in {expr!r}"
    assert functions <= FUNCTIONS, f"{where}: unknown functions {functions - FUNCTIONS}"
    assert expr.count("(") == expr.count(")"), f"{where}: unbalanced parentheses"
    known_labels = TARGET_LABELS | {"le"} | set().union(*ALL_METRICS.values())
    for name, labels in selectors:
        assert name is not None, f"{where}: a selector without a metric name"
        if name.startswith("DCGM_"):
            assert EXTERNAL_METRIC.fullmatch(name)
            continue
        if name == "up":
            assert labels <= TARGET_LABELS, f"{where}: up has no labels {labels - TARGET_LABELS}"
            continue
        assert name in ALL_METRICS, f"{where}: {name} is not registered by any service"
        allowed = ALL_METRICS[name] | TARGET_LABELS
        assert labels <= allowed, f"{where}: {name} has no labels {labels - allowed}"
    if not any(name and name.startswith("DCGM_") for name, _ in selectors):
        assert grouping <= known_labels, f"{where}: unknown labels {grouping - known_labels}"


def test_the_files_cover_every_service():
    used = {name for _, expr in ALL_EXPRS for name, _ in parse_promql(expr)[0]}
    for service, metrics in CODE_METRICS.items():
        assert used & set(metrics), f"nothing of the {service}'s metrics is used"
    assert {"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "up"} <= used


# --- alerts and runbooks ------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runbook_headings() -> set[str]:
    return set(re.findall(r"^## (Saekdam\w+)\s*$", README.read_text(), flags=re.M))


def test_every_alert_is_complete_and_has_its_runbook():
    rules = alert_rules()
    assert len(rules) >= 8
    headings = runbook_headings()
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"Saekdam[A-Z]\w+", name)
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
        assert re.fullmatch(r"\d+[smhd]", rule["for"]), f"{name}: for: {rule['for']!r}"
        assert rule["labels"]["severity"] in SEVERITIES, name
        notes = rule["annotations"]
        assert notes["summary"].strip() and notes["description"].strip(), name
        assert notes["runbook_url"] == f"infra/observability/README.md#{name.lower()}", name
        assert name in headings, f"README.md has no '## {name}' section"
        assert github_anchor(name) == name.lower()
        for text in notes.values():
            assert text.count("{{") == text.count("}}"), f"{name}: unbalanced template"
            for label in re.findall(r"\$labels\.(\w+)", text):
                assert label in TARGET_LABELS | set().union(*ALL_METRICS.values()) | {
                    "gpu",
                    "Hostname",
                    "modelName",
                }, f"{name}: the annotation uses an unknown label {label}"


def test_every_runbook_section_belongs_to_an_alert():
    assert runbook_headings() == {rule["alert"] for rule in alert_rules()}


def test_the_alerts_cover_the_issue():
    exprs = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    wanted = {
        "SaekdamQueueAgeHigh": "saekdam_queue_waiting",
        "SaekdamJobFailureRateHigh": 'outcome=~"failed|retried"',
        "SaekdamWorkerDown": 'up{job="saekdam-worker"} == 0',
        "SaekdamNoWorkerForKind": "pool=",
        "SaekdamTaskWebsocketsNearLimit": "saekdam_websocket_connections",
        "SaekdamTaskWebsocketsSuddenDrop": "offset 10m",
        "SaekdamGpuMemoryHigh": "DCGM_FI_DEV_FB_USED",
        "SaekdamPostureFrameLatencyHigh": "saekdam_posture_frame_seconds_bucket",
    }
    for alert, fragment in wanted.items():
        assert fragment in exprs[alert], alert


# --- scrape configs against docker-compose.yml and k8s/ ---------------------------------------


def jobs_by_name(config: dict) -> dict[str, dict]:
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert len(jobs) == len(config["scrape_configs"]), "duplicate job names"
    return jobs


def relabel(job: dict, meta: dict[str, str]) -> dict[str, str] | None:
    """Apply a job's keep/drop/replace relabelling to one target's meta labels, as Prometheus
    would (anchored regexes, `;` separator); None when the target is dropped."""
    labels = dict(meta)
    for step in job.get("relabel_configs", []):
        value = ";".join(labels.get(source, "") for source in step.get("source_labels", []))
        regex = re.compile(step.get("regex", "(.*)"))
        action = step.get("action", "replace")
        matched = regex.fullmatch(value)
        if action == "keep" and not matched:
            return None
        if action == "drop" and matched:
            return None
        if action == "replace" and matched:
            replacement = re.sub(r"\$\{?(\d+)\}?", r"\\\1", step.get("replacement", "$1"))
            labels[step["target_label"]] = matched.expand(replacement)
    return labels


def test_both_configs_load_the_rules_and_share_their_jobs():
    for path in (COMPOSE_CONFIG, K8S_CONFIG):
        config = load_yaml(path)
        assert config["rule_files"] == ["alerts.yml"]
        assert set(jobs_by_name(config)) == JOBS, path.name
        for job in config["scrape_configs"]:
            for step in job.get("relabel_configs", []):
                re.compile(step.get("regex", "(.*)"))
                assert step.get("action", "replace") in {"keep", "drop", "replace", "labelmap"}


def compose_services() -> dict[str, dict]:
    return load_yaml(ROOT / "docker-compose.yml")["services"]


def test_compose_config_finds_the_compose_services():
    jobs = jobs_by_name(load_yaml(COMPOSE_CONFIG))
    services = compose_services()
    for job_name, names, port in (
        ("saekdam-api", ["api"], 8000),
        ("saekdam-posture", ["posture"], 8000),
        ("saekdam-worker", ["worker-gpu", "worker-cpu"], 9101),
        ("dcgm-exporter", ["dcgm-exporter"], 9400),
    ):
        (sd,) = jobs[job_name]["dns_sd_configs"]
        assert (sd["names"], sd["type"], sd["port"]) == (names, "A", port), job_name
        if job_name == "dcgm-exporter":
            continue  # run beside compose on its network (README.md), not a service of it
        for name in names:
            assert str(port) in [str(p) for p in services[name].get("expose", [])], name
            if job_name == "saekdam-worker":
                assert str(services[name]["environment"]["METRICS_PORT"]) == str(port)
    worker = jobs["saekdam-worker"]
    for service, pool in (("worker-gpu", "gpu"), ("worker-cpu", "cpu")):
        assert relabel(worker, {"__meta_dns_name": service})["pool"] == pool


def worker_kinds_by_pool() -> dict[str, list[str]]:
    services = compose_services()
    return {
        pool: json.loads(services[f"worker-{pool}"]["environment"]["WORKER_KINDS"])
        for pool in ("gpu", "cpu")
    }


def test_no_worker_for_kind_knows_which_pool_runs_each_kind():
    """The alert's kind -> pool mapping is the compose services' WORKER_KINDS, and together
    they run every kind but the diagnostic ones."""
    kinds = worker_kinds_by_pool()
    served = sorted(kind for kind, spec in JOB_SPECS.items() if not spec.diagnostic)
    assert sorted(kinds["gpu"] + kinds["cpu"]) == served
    (rule,) = [r for r in alert_rules() if r["alert"] == "SaekdamNoWorkerForKind"]
    for pool, pool_kinds in kinds.items():
        pattern = (
            r'saekdam_queue_waiting\{kind=~"' + re.escape("|".join(pool_kinds)) + r'"\}\) > 0\s*'
            r"unless on \(\)\s*"
            r'count\(up\{job="saekdam-worker", pool="' + pool + r'"\} == 1\)'
        )
        assert re.search(pattern, rule["expr"]), pool


def k8s_pod_templates() -> dict[str, dict]:
    """Deployment name -> its pod template, for every Deployment in k8s/."""
    templates = {}
    for path in sorted((ROOT / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "Deployment":
                templates[document["metadata"]["name"]] = document["spec"]["template"]
    return templates


def test_k8s_config_selects_the_saekdam_pods():
    jobs = jobs_by_name(load_yaml(K8S_CONFIG))
    templates = k8s_pod_templates()
    expected = {
        "saekdam-api": ("saekdam-api", "8000"),
        "saekdam-posture": ("saekdam-posture", "8000"),
        "saekdam-worker-gpu": ("saekdam-worker", "9101"),
        "saekdam-worker-cpu": ("saekdam-worker", "9101"),
    }
    for deployment, (job_name, port) in expected.items():
        template = templates[deployment]
        notes = template["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true", deployment
        assert notes["prometheus.io/port"] == port, deployment
        container_ports = {
            str(p["containerPort"]) for c in template["spec"]["containers"] for p in c["ports"]
        }
        assert port in container_ports, deployment
        meta = {
            "__meta_kubernetes_namespace": "saekdam",
            "__meta_kubernetes_pod_name": f"{deployment}-abc",
            "__meta_kubernetes_pod_node_name": "node-1",
            "__meta_kubernetes_pod_ip": "10.0.0.7",
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_container_init": "false",
            "__address__": "10.0.0.7",
        }
        for key, value in template["metadata"]["labels"].items():
            meta["__meta_kubernetes_pod_label_" + re.sub(r"[^\w]", "_", key)] = value
        for key, value in notes.items():
            meta["__meta_kubernetes_pod_annotation_" + re.sub(r"[^\w]", "_", key)] = value
        for name, job in jobs.items():
            kept = relabel(job, meta)
            if name != job_name:
                assert kept is None, f"{deployment} would also be scraped by {name}"
                continue
            assert kept is not None, f"{job_name} does not select {deployment}"
            assert kept["__address__"] == f"10.0.0.7:{port}"
            assert kept["__metrics_path__"] == notes.get("prometheus.io/path", "/metrics")
            assert kept["namespace"] == "saekdam" and kept["pod"] == f"{deployment}-abc"
            if job_name == "saekdam-worker":
                assert kept["pool"] == deployment.removeprefix("saekdam-worker-")
        init = dict(meta, __meta_kubernetes_pod_container_init="true")
        assert relabel(jobs[job_name], init) is None, "init containers are not targets"
    for job_name in ("saekdam-api", "saekdam-posture", "saekdam-worker"):
        (sd,) = jobs[job_name]["kubernetes_sd_configs"]
        assert sd["role"] == "pod" and sd["namespaces"]["names"] == ["saekdam"]


def test_k8s_config_scrapes_the_dcgm_exporter():
    job = jobs_by_name(load_yaml(K8S_CONFIG))["dcgm-exporter"]
    assert job["honor_labels"] is True
    base = {"__meta_kubernetes_pod_phase": "Running", "__address__": "10.0.9.1:9400"}
    for labels in ({"app": "nvidia-dcgm-exporter"}, {"app_kubernetes_io_name": "dcgm-exporter"}):
        meta = dict(base, __meta_kubernetes_pod_container_port_number="9400")
        meta |= {f"__meta_kubernetes_pod_label_{k}": v for k, v in labels.items()}
        assert relabel(job, meta) is not None, labels
    other = dict(base, __meta_kubernetes_pod_label_app="node-exporter")
    assert relabel(job, other | {"__meta_kubernetes_pod_container_port_number": "9400"}) is None


# --- the dashboard ------------------------------------------------------------------------------


def test_dashboard_structure():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36
    (source,) = dashboard["__inputs"]
    assert (source["name"], source["type"], source["pluginId"]) == (
        "DS_PROMETHEUS",
        "datasource",
        "prometheus",
    )
    panels = dashboard_panels()
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
            assert target["expr"].strip()
    titles = " | ".join(panel["title"].lower() for panel in panels)
    for wanted in (
        "jobs per minute",
        "p50 / p95",
        "queue depth",
        "queue wait",
        "failure share",
        "workers up",
        "open websockets",
        "api",
        "posture frames",
        "latency",
        "gpu memory",
    ):
        assert wanted in titles, wanted


# --- promtool, when installed ---------------------------------------------------------------


def promtool(*args: str, cwd: Path = OBS) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_promtool_check_rules():
    result = promtool("check", "rules", ALERTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_check_compose_config():
    result = promtool("check", "config", COMPOSE_CONFIG.name)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_check_k8s_config(tmp_path):
    result = promtool("check", "config", K8S_CONFIG.name)
    if "kubernetes_sd_configs not found" in result.stdout + result.stderr:
        # Debian's build leaves Kubernetes discovery out: check the rest with static targets.
        config = load_yaml(K8S_CONFIG)
        for job in config["scrape_configs"]:
            job.pop("kubernetes_sd_configs")
            job["static_configs"] = [{"targets": ["127.0.0.1:9"]}]
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        shutil.copy(ALERTS, tmp_path / "alerts.yml")
        result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_parses_the_dashboard_queries(tmp_path):
    """Each panel query, as a recording rule (Grafana's $__rate_interval as 5m)."""
    rules = [
        {"record": f"dashboard:query_{i}", "expr": re.sub(r"\$__\w+", "5m", expr)}
        for i, expr in enumerate(dashboard_exprs())
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def series(name: str, values: str, **labels: str) -> dict:
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


API = {"job": "saekdam-api", "instance": "api-1:8000"}
GPU = {"job": "saekdam-worker", "instance": "10.0.0.2:9101", "pool": "gpu"}
CPU = {"job": "saekdam-worker", "instance": "10.0.0.3:9101", "pool": "cpu"}
POSTURE = {"job": "saekdam-posture", "instance": "posture-1:8000"}
DURATION = "saekdam_job_duration_seconds_count"

# (input series, eval time, alert, the alerts expected: their labels besides the rule's)
RULE_CASES = [
    # Waiting murals, nothing ends: the head of the queue has not moved.
    (
        [
            series("saekdam_queue_waiting", "3x30", kind="mural", **API),
            series("saekdam_queue_waiting", "3x30", kind="mural", **dict(API, instance="b")),
            series(DURATION, "10x30", kind="mural", outcome="completed", **GPU),
            series("up", "1x30", **GPU),
        ],
        "20m",
        "SaekdamQueueAgeHigh",
        [{"kind": "mural"}],
    ),
    # A queue that moves at a job a minute with 3 waiting: 3 minutes of work, fine.
    (
        [
            series("saekdam_queue_waiting", "3x30", kind="filter", **API),
            series(DURATION, "0+1x30", kind="filter", outcome="completed", **CPU),
        ],
        "20m",
        "SaekdamQueueAgeHigh",
        [],
    ),
    # 100 waiting at a job a minute: 100 minutes of work.
    (
        [
            series("saekdam_queue_waiting", "100x30", kind="filter", **API),
            series(DURATION, "0+1x30", kind="filter", outcome="completed", **CPU),
        ],
        "20m",
        "SaekdamQueueAgeHigh",
        [{"kind": "filter"}],
    ),
    (
        [
            series(DURATION, "0+1x30", kind="sketch", outcome="completed", **GPU),
            series(DURATION, "0+1x30", kind="sketch", outcome="failed", **GPU),
            series(DURATION, "0+9x30", kind="filter", outcome="completed", **CPU),
            series(DURATION, "0+1x30", kind="filter", outcome="retried", **CPU),
        ],
        "25m",
        "SaekdamJobFailureRateHigh",
        [{"kind": "sketch"}],
    ),
    (
        [series("up", "0x20", **CPU), series("up", "1x20", **GPU)],
        "10m",
        "SaekdamWorkerDown",
        [CPU],
    ),
    ([series("up", "0x20", **CPU)], "10m", "SaekdamNoWorkerUp", [{}]),
    # Murals wait and there is no GPU worker; filters wait and a CPU worker is up.
    (
        [
            series("saekdam_queue_waiting", "2x30", kind="mural", **API),
            series("saekdam_queue_waiting", "1x30", kind="filter", **API),
            series("up", "1x30", **CPU),
        ],
        "20m",
        "SaekdamNoWorkerForKind",
        [{"kind": "mural"}],
    ),
    (
        [series("saekdam_websocket_connections", "4500x20", **API)],
        "15m",
        "SaekdamTaskWebsocketsNearLimit",
        [API],
    ),
    (
        [series("saekdam_websocket_connections", "1000x15 100x15", **API)],
        "20m",
        "SaekdamTaskWebsocketsSuddenDrop",
        [{}],
    ),
    (
        [series("up", "1x20", **API)],
        "10m",
        "SaekdamServiceDown",
        [{"job": "saekdam-posture"}],
    ),
    # 10 frames a second, every one between 200 and 500 ms.
    (
        [
            series("saekdam_posture_frame_seconds_bucket", "0x30", le="0.2", **POSTURE),
            series("saekdam_posture_frame_seconds_bucket", "0+600x30", le="0.5", **POSTURE),
            series("saekdam_posture_frame_seconds_bucket", "0+600x30", le="+Inf", **POSTURE),
            series("saekdam_posture_frame_seconds_count", "0+600x30", **POSTURE),
        ],
        "20m",
        "SaekdamPostureFrameLatencyHigh",
        [{"instance": POSTURE["instance"]}],
    ),
    (
        [
            series("DCGM_FI_DEV_FB_USED", "23000x20", gpu="0", Hostname="gpu-node", **GPU),
            series("DCGM_FI_DEV_FB_FREE", "1000x20", gpu="0", Hostname="gpu-node", **GPU),
            series("DCGM_FI_DEV_FB_USED", "4000x20", gpu="1", Hostname="gpu-node", **GPU),
            series("DCGM_FI_DEV_FB_FREE", "20000x20", gpu="1", Hostname="gpu-node", **GPU),
        ],
        "15m",
        "SaekdamGpuMemoryHigh",
        [dict(GPU, gpu="0", Hostname="gpu-node")],
    ),
]


def test_the_rule_cases_cover_every_alert():
    assert {case[2] for case in RULE_CASES} == {rule["alert"] for rule in alert_rules()}


@needs_promtool
def test_promtool_rule_unit_tests(tmp_path):
    """The expressions fire (and stay quiet) as meant, on synthetic series."""
    rules = load_yaml(ALERTS)
    severity = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            # promtool compares annotations too; `check rules` above covers their templates.
            rule.pop("annotations")
            severity[rule["alert"]] = rule["labels"]["severity"]
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    tests = [
        {
            "interval": "1m",
            "input_series": input_series,
            "alert_rule_test": [
                {
                    "eval_time": eval_time,
                    "alertname": alert,
                    "exp_alerts": [
                        {"exp_labels": labels | {"severity": severity[alert]}}
                        for labels in expected
                    ],
                }
            ],
        }
        for input_series, eval_time, alert, expected in RULE_CASES
    ]
    unit = {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
