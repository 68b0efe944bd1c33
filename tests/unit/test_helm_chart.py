"""helm/onestory rendered by the real Helm library (helm-python-sdk), linted, and every manifest validated
against the Kubernetes schemas (kubernetes-validate), under default and production values; bad values are
refused by values.schema.json or by the chart's own `fail` checks.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from hub.kafka.topics import ALL_TOPICS
from hub.settings import HubSettings, OutboundSettings
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
    assert ("Ingress" in kinds) == (values is PRODUCTION)
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
    # The sections are not settings of their own: `outbound` and `otel` set them key by key.
    hub_fields = set(HubSettings.model_fields) - {"outbound", "telemetry"}
    outbound_fields, otel_fields = set(OutboundSettings.model_fields), set(TelemetrySettings.model_fields)
    for key, value in merged["settings"].items():
        assert snake(key) in hub_fields, key
        assert rendered[f"ONESTORY_{snake(key).upper()}"] == str(value)
    for key, value in merged["outbound"].items():
        assert snake(key) in outbound_fields, key
        assert rendered[f"ONESTORY_OUTBOUND_{snake(key).upper()}"] == str(value)
    for key in merged["secrets"]:
        if key != "existingSecret":
            assert snake(key) in hub_fields, key
    for key in merged["otel"]:
        assert snake(key) in otel_fields, key
    for env in [*rendered, *secret]:
        prefix, _, name = env.partition("_")
        if name.startswith("OUTBOUND_"):
            assert name.removeprefix("OUTBOUND_").lower() in outbound_fields, env
        else:
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
    ("settings.kafkaSecurityProtocol", "TLS"),
    ("settings.kafkaSaslMechanism", "SCRAM-SHA-1"),
    ("settings.databaseSslmode", "on"),
    ("kafkaTls.caSecret", "Care_Kafka CA"),
    ("kafkaSasl.password", "in-values"),
    ("databaseTls.clientKey", "tls.key"),
    ("ingress.enabled", "yes"),
    ("ingress.hosts", ["https://onestory.example.nhs.uk/"]),
    ("ingress.tls", [{"hosts": ["onestory.example.nhs.uk"]}]),
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


def test_the_api_ingress_is_off_by_default_and_routes_every_host_to_the_api_service(chart: helm.Chart) -> None:
    assert "Ingress" not in {d["kind"] for d in render(chart)}
    ingress = by_kind(render(chart, PRODUCTION), "Ingress")["onestory-api"]
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"secretName": "onestory-tls", "hosts": ["onestory.care.example.nhs.uk"]}]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "nhs-internal-ca"
    backend = {"service": {"name": "onestory-api", "port": {"name": "http"}}}
    assert spec["rules"] == [
        {
            "host": "onestory.care.example.nhs.uk",
            "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
        }
    ]
    service = by_kind(render(chart, PRODUCTION), "Service")["onestory-api"]
    assert [p["name"] for p in service["spec"]["ports"]] == ["http"]
    with pytest.raises(helm.HelmRenderError, match="ingress.enabled needs ingress.hosts"):
        render(chart, {"ingress": {"enabled": True}})


def _container_env(spec: dict[str, Any], rendered: dict[str, str], secret_values: dict[str, str]) -> dict[str, str]:
    """What a container's process sees: the settings ConfigMap, then its explicit env (secretKeyRef resolved)."""
    env = dict(rendered)
    for item in spec["containers"][0]["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secret_values[f"{ref['name']}/{ref['key']}"]
    return env


def test_production_kafka_sasl_ssl_and_database_tls_reach_every_workload(
    chart: helm.Chart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rendered environment builds the settings that kafka_client_config and engine_for use, and every
    file a setting names is mounted read-only from a Secret; the password never sits in a ConfigMap."""
    from hub.db.engine import postgres_tls_args
    from hub.kafka.security import kafka_client_config

    docs = render(chart, PRODUCTION)
    rendered = by_kind(docs, "ConfigMap")["onestory-settings"]["data"]
    password = "from-the-KafkaUser-secret"  # noqa: S105 - a test value
    for name, spec in pod_specs(docs).items():
        env = {k: v for k, v in _container_env(spec, rendered, {"onestory/password": password}).items()}
        for key in [k for k in os.environ if k.startswith("ONESTORY_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith("ONESTORY_") and "$(" not in value:
                monkeypatch.setenv(key, value)
        settings = HubSettings()
        config = kafka_client_config(settings)
        assert config == {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "onestory",
            "sasl.password": password,
            "ssl.ca.location": "/etc/onestory/kafka-ca/ca.crt",
        }, name
        assert postgres_tls_args(settings) == {
            "sslmode": "verify-full",
            "sslrootcert": "/etc/onestory/database-ca/ca.crt",
        }, name
        mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        for path, secret, key in [
            (config["ssl.ca.location"], "care-kafka-cluster-ca-cert", "ca.crt"),
            (postgres_tls_args(settings)["sslrootcert"], "care-pg-ca", "ca.crt"),
        ]:
            folder, file = path.rsplit("/", 1)
            assert mounts[folder]["readOnly"] is True, name
            volume = volumes[mounts[folder]["name"]]["secret"]
            assert volume["secretName"] == secret and {"key": key, "path": file} in volume["items"], name
    for configmap in by_kind(docs, "ConfigMap").values():
        assert password not in str(configmap) and "PASSWORD" not in str(configmap.get("data", {}))


def test_mutual_tls_mounts_client_certificates_and_keys_from_secrets(chart: helm.Chart) -> None:
    values = _with("kafkaTls.clientSecret", "onestory-tls-user")
    values["databaseTls"]["clientSecret"] = "onestory-pg-client"
    values["settings"]["kafkaSecurityProtocol"] = "SSL"
    docs = render(chart, values)
    rendered = by_kind(docs, "ConfigMap")["onestory-settings"]["data"]
    assert rendered["ONESTORY_KAFKA_SSL_CERT_FILE"] == "/etc/onestory/kafka-client/client.crt"
    assert rendered["ONESTORY_KAFKA_SSL_KEY_FILE"] == "/etc/onestory/kafka-client/client.key"
    assert rendered["ONESTORY_DATABASE_SSLCERT"] == "/etc/onestory/database-client/client.crt"
    assert rendered["ONESTORY_DATABASE_SSLKEY"] == "/etc/onestory/database-client/client.key"
    for spec in pod_specs(docs).values():
        volumes = {v["name"]: v.get("secret") for v in spec["volumes"]}
        assert volumes["kafka-client"] == {
            "secretName": "onestory-tls-user",
            "defaultMode": 0o440,
            "items": [{"key": "user.crt", "path": "client.crt"}, {"key": "user.key", "path": "client.key"}],
        }
        assert volumes["database-client"]["items"] == [
            {"key": "tls.crt", "path": "client.crt"},
            {"key": "tls.key", "path": "client.key"},
        ]
    for kube in KUBE_VERSIONS:
        for doc in docs:
            if (doc["apiVersion"], doc["kind"]) not in CRDS:
                kubernetes_validate.validate(doc, kube, strict=True)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"settings": {"kafkaSecurityProtocol": "SASL_SSL"}}, "needs settings.kafkaSaslUsername"),
        ({"settings": {"kafkaSecurityProtocol": "SASL_SSL", "kafkaSaslUsername": "onestory"}}, "needs a password"),
        ({"kafkaTls": {"caSecret": "care-kafka-cluster-ca-cert"}}, "use SSL or SASL_SSL"),
        ({"settings": {"databaseSslmode": "verify-full"}}, "needs databaseTls.caSecret"),
    ],
)
def test_incomplete_connection_security_is_refused(chart: helm.Chart, values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=message):
        render(chart, values)


def test_a_sasl_password_in_values_goes_to_the_chart_made_secret_only(chart: helm.Chart) -> None:
    values = {
        "settings": {"kafkaSecurityProtocol": "SASL_PLAINTEXT", "kafkaSaslUsername": "dev"},
        "secrets": {"kafkaSaslPassword": "dev-only"},
    }
    docs = render(chart, values)
    assert by_kind(docs, "Secret")["onestory-secrets"]["stringData"]["ONESTORY_KAFKA_SASL_PASSWORD"] == "dev-only"
    assert "dev-only" not in str(by_kind(docs, "ConfigMap"))


def _deploy_guide() -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """docs/deploy.md's manifests (its `kubectl apply -f - <<'EOF'` documents), its values and its commands."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    manifests = [d for block in re.findall(r"<<'EOF'\n(.*?)\nEOF\n", text, re.S) for d in yaml.safe_load_all(block)]
    values_section = text.split("### 7. Values", 1)[1].split("###", 1)[0]
    values = yaml.safe_load(re.search(r"```yaml\n(.*?)```", values_section, re.S).group(1))  # type: ignore[union-attr]
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", text, re.S))
    return manifests, values, commands


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def test_the_deploy_guide_names_line_up_with_its_values_and_render(chart: helm.Chart) -> None:
    """The step-by-step guide's Strimzi and CloudNativePG resources, credentials and values agree, and its
    values (on top of the production example) render into manifests that validate."""
    manifests, values, commands = _deploy_guide()
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in manifests}
    assert set(kinds) == {
        ("KafkaNodePool", "dual-role"),
        ("Kafka", "care-kafka"),
        ("KafkaUser", "onestory"),
        ("Cluster", "care-pg"),
    }
    kafka, user, pg = kinds["Kafka", "care-kafka"], kinds["KafkaUser", "onestory"], kinds["Cluster", "care-pg"]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] >= 2
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    assert user["metadata"]["namespace"] == "care" == pg["metadata"]["namespace"]
    assert values["settings"]["kafkaSecurityProtocol"] == "SASL_SSL"
    assert values["settings"]["kafkaSaslMechanism"] == "SCRAM-SHA-512"
    assert values["settings"]["kafkaSaslUsername"] == user["metadata"]["name"] == values["kafkaSasl"]["passwordSecret"]
    assert values["strimzi"]["cluster"] == kafka["metadata"]["name"]
    assert values["kafkaTls"]["caSecret"] == f"{kafka['metadata']['name']}-cluster-ca-cert"
    assert values["databaseTls"]["caSecret"] == f"{pg['metadata']['name']}-ca"
    assert f"ONESTORY_KAFKA='care-kafka-kafka-bootstrap.kafka.svc:{listener['port']}'" in commands
    assert "@care-pg-rw.care.svc:5432/onestory" in commands and values["settings"]["databaseSslmode"] == "verify-full"
    assert f"secret generic {values['secrets']['existingSecret']} " in commands
    docs = render(chart, _merged(PRODUCTION, values))
    assert by_kind(docs, "Ingress")["onestory-api"]["spec"]["tls"][0]["secretName"] == "onestory-tls"
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) not in CRDS:
            kubernetes_validate.validate(doc, KUBE_VERSIONS[-1], strict=True)
