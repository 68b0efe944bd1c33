"""helm/onestory rendered by the real Helm library (helm-python-sdk), linted, and every manifest validated
against the Kubernetes schemas (kubernetes-validate), under default and production values; bad values are
refused by values.schema.json or by the chart's own `fail` checks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from hub.kafka.topics import ALL_TOPICS
from hub.settings import HubSettings
from hub.telemetry.settings import TelemetrySettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "onestory"
PRODUCTION = yaml.safe_load((CHART / "ci" / "production-values.yaml").read_text())
KUBE_VERSIONS = ("1.27.0", "1.33.0")  # the chart's minimum and a current release
CRDS = {("kafka.strimzi.io/v1beta2", "KafkaTopic")}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    manifests = chart.render(values, name="onestory", namespace="care", is_install=True)
    docs: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")}


def snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["default", "production"])
def test_chart_lints_strictly(values: dict[str, Any] | None) -> None:
    report = helm.lint(CHART, values, strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["default", "production"])
def test_every_manifest_validates_against_kubernetes(
    chart: helm.Chart, values: dict[str, Any] | None, kube: str
) -> None:
    docs = render(chart, values)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "Job", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            continue
        kubernetes_validate.validate(doc, kube, strict=True)


def test_default_values_run_topics_and_migrations_as_jobs(chart: helm.Chart) -> None:
    docs = render(chart)
    jobs = by_kind(docs, "Job")
    assert {name: job["spec"]["template"]["spec"]["containers"][0]["args"] for name, job in jobs.items()} == {
        "onestory-topics": ["topics", "create"],
        "onestory-migrate": ["migrate"],
    }
    for job in jobs.values():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    assert not [d for d in docs if d["kind"] == "KafkaTopic"]
    secret = by_kind(docs, "Secret")["onestory-secrets"]
    assert set(secret["stringData"]) == {"ONESTORY_DATABASE", "ONESTORY_KAFKA"}


def test_production_values_use_strimzi_topics_and_existing_secret(chart: helm.Chart) -> None:
    docs = render(chart, PRODUCTION)
    topics = [d for d in docs if d["kind"] == "KafkaTopic"]
    assert sorted(t["spec"]["topicName"] for t in topics) == sorted(ALL_TOPICS)
    for topic in topics:
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "care-kafka"
        assert topic["spec"]["partitions"] == 12 and topic["spec"]["replicas"] == 3
    assert set(by_kind(docs, "Job")) == {"onestory-migrate"}
    assert "Secret" not in {d["kind"] for d in docs}
    deployments = by_kind(docs, "Deployment")
    assert deployments["onestory-processors"]["spec"]["replicas"] == 6
    for spec in pod_specs(docs).values():
        container = spec["containers"][0]
        assert {"secretRef": {"name": "onestory-credentials"}} in container["envFrom"]
        assert {"name": "policy", "mountPath": "/etc/onestory/policy", "readOnly": True} in container["volumeMounts"]
    settings = by_kind(docs, "ConfigMap")["onestory-settings"]["data"]
    assert settings["ONESTORY_POLICY_FILE"] == "/etc/onestory/policy/policy.yaml"
    assert settings["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    mllp = by_kind(docs, "Service")["onestory-mllp"]
    assert mllp["spec"]["type"] == "LoadBalancer" and mllp["spec"]["loadBalancerSourceRanges"] == ["10.20.0.0/16"]


@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["default", "production"])
def test_every_workload_is_hardened_and_probed(chart: helm.Chart, values: dict[str, Any] | None) -> None:
    docs = render(chart, values)
    for name, spec in pod_specs(docs).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name
            assert container["resources"]["requests"]["memory"], name
    volumes = {v["name"]: v for spec in pod_specs(docs).values() for v in spec["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    for name, deployment in by_kind(docs, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert "readinessProbe" in container and "livenessProbe" in container, name
    api = by_kind(docs, "Deployment")["onestory-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert set(by_kind(docs, "PodDisruptionBudget")) == {"onestory-api", "onestory-processors", "onestory-connectors"}


@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["default", "production"])
def test_every_value_maps_one_to_one_to_a_setting(chart: helm.Chart, values: dict[str, Any] | None) -> None:
    merged = chart.merge_values(values)
    docs = render(chart, values)
    rendered = by_kind(docs, "ConfigMap")["onestory-settings"]["data"]
    secret = by_kind(docs, "Secret").get("onestory-secrets", {}).get("stringData", {})
    hub_fields, otel_fields = set(HubSettings.model_fields), set(TelemetrySettings.model_fields)
    for key, value in merged["settings"].items():
        assert snake(key) in hub_fields, key
        assert rendered[f"ONESTORY_{snake(key).upper()}"] == str(value)
    for key in merged["secrets"]:
        if key != "existingSecret":
            assert snake(key) in hub_fields, key
    for key in merged["otel"]:
        assert snake(key) in otel_fields, key
    for env in [*rendered, *secret]:
        prefix, _, name = env.partition("_")
        assert name.lower() in (hub_fields if prefix == "ONESTORY" else otel_fields), env


def test_processors_beyond_the_partition_count_are_refused(chart: helm.Chart) -> None:
    values = {"processors": {"replicas": 7}, "settings": {"partitions": 6}}
    with pytest.raises(
        helm.HelmRenderError, match=r"processors.replicas \(7\) cannot exceed settings.partitions \(6\)"
    ):
        render(chart, values)
    assert render(chart, {"processors": {"replicas": 6}, "settings": {"partitions": 6}})


def test_missing_credentials_and_shared_signing_key_are_refused(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match="secrets.database and secrets.kafka are required"):
        render(chart, {"secrets": {"database": ""}})
    with pytest.raises(helm.HelmRenderError, match="external OIDC issuer"):
        render(chart, {"api": {"replicas": 2}})


def _with(path: str, value: Any) -> dict[str, Any]:
    values = copy.deepcopy(PRODUCTION)
    *parents, leaf = path.split(".")
    node = values
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return values


BAD_VALUES = [
    ("settings.partitions", "six"),
    ("settings.partitions", 0),
    ("processors.replicas", 0),
    ("api.replicas", "3"),
    ("settings.logFormat", "xml"),
    ("settings.apiPort", 70000),
    ("settings.nhsNumberLookup", True),
    ("secrets.oidcIssuer", "http://issuer.example.org"),
    ("secrets.kafka", "not a bootstrap list"),
    ("otel.tracesExporter", "jaeger"),
    ("image.pullPolicy", "Sometimes"),
    ("connectors.service.type", "Ingress"),
    ("strimzi.enabled", "yes"),
    ("processors.resources", {"requests": {"memory": "lots"}}),
]


@pytest.mark.parametrize(("path", "value"), BAD_VALUES, ids=[f"{p}={v!r}" for p, v in BAD_VALUES])
def test_values_schema_rejects_bad_values(chart: helm.Chart, path: str, value: Any) -> None:
    bad = _with(path, value)
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema(bad)
    with pytest.raises((helm.HelmValuesError, helm.HelmRenderError)):
        render(chart, bad)


def test_production_values_pass_the_schema(chart: helm.Chart) -> None:
    chart.validate_schema(PRODUCTION)
    chart.validate_schema(None)


def test_image_tag_defaults_to_the_app_version(chart: helm.Chart) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M)
    assert version and chart.metadata["appVersion"] == version.group(1)
    api = by_kind(render(chart), "Deployment")["onestory-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["image"].endswith(f":{version.group(1)}")


def test_lint_reports_values_the_schema_refuses() -> None:
    report = helm.lint(CHART, _with("settings.partitions", "six"), strict=True)
    problems = report["errors"] + [m["error"] for m in report["messages"] if m["severity"] >= 3]
    assert any("partitions" in p for p in problems), report


def test_an_organisation_directory_is_mounted_and_named_by_its_setting(chart: helm.Chart) -> None:
    assert "ONESTORY_DIRECTORY_FILE" not in by_kind(render(chart), "ConfigMap")["onestory-settings"]["data"]
    docs = render(chart, {"directory": {"content": "organisations: []\n"}})
    assert "directory_file" in HubSettings.model_fields
    settings = by_kind(docs, "ConfigMap")["onestory-settings"]["data"]
    assert settings["ONESTORY_DIRECTORY_FILE"] == "/etc/onestory/directory/organisations.yaml"
    assert by_kind(docs, "ConfigMap")["onestory-directory"]["data"]["organisations.yaml"] == "organisations: []\n"
    for spec in pod_specs(docs).values():
        mounts = spec["containers"][0]["volumeMounts"]
        assert {"name": "directory", "mountPath": "/etc/onestory/directory", "readOnly": True} in mounts
