"""The deployment files agree with each other and with the code.

docker-compose.yml and deploy/ (Dockerfile, RabbitMQ, PostgreSQL, Prometheus,
Grafana, Kubernetes) name modules, classes, subcommands, environment variables,
ports, paths and metrics. Each test checks one kind of name against the place
that defines it, so a renamed class, a dropped variable or a typo in a metric
fails here rather than in a container. No broker, no Docker, no network.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import json
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
PROMETHEUS_FILE = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS_FILE = DEPLOY / "prometheus" / "alerts.yml"
GRAFANA = DEPLOY / "grafana"
K8S = DEPLOY / "k8s"

#: compose service (= nameko service name) -> (env prefix, metrics port)
APP_SERVICES = {
    "accounts": ("ACCOUNTS", 9105),
    "gateway": ("GATEWAY", 9100),
    "tickets": ("TICKETS", 9101),
    "volunteers": ("VOLUNTEERS", 9102),
    "events": ("EVENTS", 9103),
    "notify": ("NOTIFY", 9104),
    "reports": ("REPORTS", 9106),
}
DB_SERVICES = ("accounts", "tickets", "volunteers", "events", "notify")
GATEWAY_HTTP_PORT = 8000
#: Who gets the site key (keyed hashes of phone numbers, photo links, sign-in codes).
SITE_KEY_SERVICES = {"gateway", "accounts"}
#: The shared HS256 secret tokens were signed with before the accounts service (EdDSA).
RETIRED_JWT_SECRET = "LIANXIN_JWT_SECRET"


def declared_metrics() -> dict[str, Any]:
    """Every metric the code declares (``lianxin.metrics.DECLARED``), once every
    ``services/*/metrics.py`` and every service — and so every module that declares
    metrics (the kit's consumer, the gateway's intake) — is imported."""
    from lianxin import metrics
    from lianxin.services import SERVICES, load_class

    for module in sorted(ROOT.glob("services/*/metrics.py")):
        importlib.import_module(f"services.{module.parent.name}.metrics")
    for target in SERVICES.values():
        load_class(target)
    return dict(metrics.DECLARED)


def exposed_metric_names() -> set[str]:
    """The series names a scrape of the services can show, read from the declarations
    (a histogram's ``_bucket``, ``_sum``, ``_count``; no ``_created``: the kit disables it)."""
    return {"up"}.union(*(metric.series for metric in declared_metrics().values()))


KNOWN_METRICS = exposed_metric_names()

DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
#: Variables consumed by Python or pip themselves, not by Lianxin's code.
INTERPRETER_ENV = re.compile(r"^(PYTHON|PIP_)")
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|_KEY$")
CREDENTIAL_VARS = re.compile(r"^(AMQP_URI|LIANXIN_SITE_KEY|[A-Z]+_DB_URL)$")


# ---------------------------------------------------------------- loading


def _load_yaml(path: Path) -> Any:
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        pytest.fail(f"{path.relative_to(ROOT)} is not valid YAML: {exc}")


@functools.cache
def compose() -> dict[str, Any]:
    doc = _load_yaml(COMPOSE_FILE)
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), (
        "docker-compose.yml has no `services:` mapping"
    )
    return doc


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def lianxin_services() -> dict[str, dict[str, Any]]:
    """Compose services that run the ``lianxin`` command (the app image)."""
    return {name: svc for name, svc in services().items() if command(svc)[:1] == ["lianxin"]}


def run_services() -> dict[str, dict[str, Any]]:
    """Long-running app services: ``lianxin run MODULE:CLASS``."""
    return {name: svc for name, svc in lianxin_services().items() if command(svc)[1:2] == ["run"]}


def run_specs(cmd: list[str]) -> list[str]:
    return [arg for arg in cmd[2:] if not arg.startswith("-")]


def container_port(mapping: Any) -> int:
    """The container side of a compose `ports:` entry (short or long syntax)."""
    if isinstance(mapping, dict):
        return int(mapping["target"])
    return int(str(mapping).split("/")[0].rsplit(":", 1)[-1])


def service_ports(name: str) -> set[int]:
    """Every port a compose service listens on, as far as the file tells."""
    svc = services()[name]
    ports = {int(str(p).split("/")[0]) for p in svc.get("expose") or []}
    ports |= {container_port(p) for p in svc.get("ports") or []}
    for key, value in environment(svc).items():
        if key.endswith("_METRICS_PORT") and value.isdigit():
            ports.add(int(value))
        if key == "GATEWAY_ADDRESS" and ":" in value:
            ports.add(int(value.rsplit(":", 1)[1]))
    return ports


def metrics_port(name: str) -> int:
    prefix, _ = APP_SERVICES[name]
    value = environment(services()[name]).get(f"{prefix}_METRICS_PORT", "")
    assert value.isdigit(), f"compose service {name!r} must set {prefix}_METRICS_PORT to a number"
    return int(value)


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of every bind mount of a service."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["source"], volume["target"]))
            continue
        parts = str(volume).split(":")
        if len(parts) >= 2 and parts[0].startswith((".", "/")):
            mounts.append((parts[0], parts[1]))
    return mounts


def mounted_host_path(service_name: str, container_path: str) -> Path | None:
    """The host path a container path of a compose service comes from (file or dir mounts)."""
    for host, target in bind_mounts(services()[service_name]):
        target = target.rstrip("/")
        if container_path == target or container_path.startswith(target + "/"):
            return (ROOT / host).resolve() / container_path[len(target) :].lstrip("/")
    return None


def service_with_image(prefix: str) -> str:
    found = [n for n, s in services().items() if str(s.get("image", "")).startswith(prefix)]
    assert found, f"docker-compose.yml has no service with an image {prefix}*"
    return found[0]


def image_repository(image: str) -> str:
    """``registry/name:tag`` -> ``registry/name`` (compose ``${...}`` tags allowed)."""
    image = re.sub(r"@sha256:.*$", "", image)
    match = re.match(r"^(.*?)(:[^/:]*|:\$\{.*\})?$", image)
    return match.group(1) if match else image


@functools.cache
def code_text() -> str:
    """The text where the code reads its settings: service configs and the kit."""
    files = [
        *sorted(ROOT.glob("services/*/config.yml")),
        *sorted(ROOT.glob("gateway/config.yml")),
        *sorted(ROOT.glob("lianxin/**/*.py")),
    ]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def reads_env(name: str, text: str) -> bool:
    quoted = re.escape(name)
    return bool(re.search(rf"\$\{{{quoted}[:}}]|[\"']{quoted}[\"']", text))


# ---------------------------------------------------------------- PromQL


_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL (or Grafana templating) expression."""
    label_values = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", expr)
    if label_values:
        expr = label_values.group(1)
    elif re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", expr):
        return set()
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    text = re.sub(r"\$\{[^}]*\}|\$\w+", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, is_call = match.group(1), match.group(2)
        if not is_call and word.lower() not in _PROMQL_WORDS:
            names.add(word)
    return names


def unknown_metrics(expr: str) -> set[str]:
    return {
        n
        for n in promql_metric_names(expr)
        if n not in KNOWN_METRICS and not n.startswith("rabbitmq_")
    }


def test_promql_name_extraction_sees_metrics_and_ignores_the_rest():
    expr = (
        "histogram_quantile(0.95, sum by (service, le) (rate("
        'lianxin_entrypoint_latency_seconds_bucket{service=~"$service", outcome="x_y"}'
        "[$__rate_interval]))) > 1e3 and on(service) group_left(center) "
        'absent(up{job="tickets"}) offset 5m or bogus_metric'
    )
    assert promql_metric_names(expr) == {
        "lianxin_entrypoint_latency_seconds_bucket",
        "up",
        "bogus_metric",
    }
    assert promql_metric_names("label_values(lianxin_tickets_open, center)") == {
        "lianxin_tickets_open"
    }


def test_known_metrics_come_from_the_code_and_follow_the_naming_conventions():
    declared = declared_metrics()
    # The kit's own and at least one business metric of every service are declared.
    assert {"lianxin_entrypoint_calls_total", "lianxin_dead_letters_total"} <= set(declared)
    for service in ("accounts", "tickets", "volunteers", "events", "notify"):
        own = [m for m in declared.values() if m.name.startswith(f"lianxin_{service}_")]
        assert any(m.kind == "counter" for m in own), f"{service} counts nothing of its own"
        for metric in own:
            # What a service counts happened at a center, except the steps of its own
            # machinery (a send queue, retries) that would cost 500 series each.
            if "center" in metric.labels:
                assert metric.labels[:1] == ("center",), f"{metric.name}: center label first"
            if metric.kind == "histogram" and "center" in metric.labels:
                # Each bucket is 500 series at 500 centers (bench/metrics_cardinality.py).
                assert metric.buckets and len(metric.buckets) <= 3, f"{metric.name}: buckets"
    assert "lianxin_entrypoint_latency_seconds_bucket" in KNOWN_METRICS
    assert "lianxin_entrypoint_latency_seconds" not in KNOWN_METRICS  # only its series
    assert "lianxin_tickets_open" in KNOWN_METRICS  # the $center variable's source


def test_known_metrics_are_what_a_registry_renders():
    """The names derived from the declarations are the ones the client really writes."""
    from prometheus_client.exposition import generate_latest

    from lianxin.metrics import ServiceMetrics

    registry = ServiceMetrics("deploy-test")
    for metric in declared_metrics().values():
        child = registry.get(metric).labels(*("x" for _ in metric.labels))
        record = {"counter": "inc", "gauge": "set", "histogram": "observe"}[metric.kind]
        getattr(child, record)(1)
    text = generate_latest(registry.registry).decode()
    rendered = {line.split("{")[0].split()[0] for line in text.splitlines() if line[:1] != "#"}
    assert rendered == exposed_metric_names() - {"up"}  # now: other tests may declare more


# ---------------------------------------------------------------- compose


def test_compose_declares_the_whole_stack():
    expected = {"rabbitmq", "postgres", "migrate", *APP_SERVICES, "prometheus", "grafana"}
    missing = expected - set(services())
    assert not missing, f"docker-compose.yml lacks service(s) {sorted(missing)}"
    assert set(run_services()) == set(APP_SERVICES), (
        f"services running `lianxin run` are {sorted(run_services())}, "
        f"expected exactly {sorted(APP_SERVICES)} (one container per service)"
    )
    assert services()["rabbitmq"].get("image", "").startswith("rabbitmq:3.13-management")
    assert services()["postgres"].get("image", "").startswith("postgres:16")


def test_every_service_has_an_image_or_a_build_that_exists():
    for name, svc in services().items():
        assert svc.get("image") or svc.get("build"), (
            f"compose service {name!r} has no image or build"
        )
        build = svc.get("build")
        if build is None:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        context_dir = (ROOT / context).resolve()
        assert context_dir.is_dir(), f"compose service {name!r}: build context {context!r} missing"
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert (context_dir / dockerfile).is_file(), (
            f"compose service {name!r}: Dockerfile {dockerfile!r} not found in {context!r}"
        )


def test_app_containers_share_one_image():
    images = {
        name: (svc.get("image"), json.dumps(svc.get("build"), sort_keys=True))
        for name, svc in lianxin_services().items()
    }
    assert len(set(images.values())) == 1, f"app services differ in image/build: {images}"


def test_dockerfile_builds_the_contract_image():
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert instructions[0] == "FROM python:3.11-slim", (
        f"deploy/Dockerfile starts {instructions[0]!r}"
    )
    users = [i.split()[1] for i in instructions if i.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, (
        "deploy/Dockerfile must switch to a non-root USER"
    )
    assert any(
        re.search(r"pip install --no-cache-dir -c constraints\.txt \.(\s|$)", i)
        for i in instructions
    ), "deploy/Dockerfile must `pip install --no-cache-dir -c constraints.txt .`"
    cmd = [i for i in instructions if i.startswith("CMD ")]
    assert cmd and json.loads(cmd[-1][4:]) == ["lianxin", "run"], (
        f'deploy/Dockerfile default CMD must be ["lianxin", "run"], got {cmd}'
    )


def dockerfile_copy_sources() -> list[list[str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    sources = []
    for line in text.splitlines():
        parts = shlex.split(line.strip()) if line.strip().startswith(("COPY ", "ADD ")) else []
        args = [p for p in parts[1:] if not p.startswith("--")]
        if parts and not any(p.startswith("--from") for p in parts):
            sources.append(args[:-1])
    return sources


def test_dockerfile_copies_the_packages_and_files_that_exist():
    copied = [src for group in dockerfile_copy_sources() for src in group]
    for package in ("lianxin", "services", "gateway", "pyproject.toml", "constraints.txt"):
        assert package in copied, f"deploy/Dockerfile does not COPY {package}"
    for group in dockerfile_copy_sources():
        present = [src for src in group if list(ROOT.glob(src))]
        missing = [src for src in group if "*" not in src and src not in present]
        assert not missing, f"deploy/Dockerfile copies {missing}, which do not exist in the repo"
        assert present, f"deploy/Dockerfile: nothing matches COPY {group}"


def test_dockerignore_keeps_what_the_dockerfile_copies():
    ignore = DOCKERFILE.with_name("Dockerfile.dockerignore")
    if not ignore.exists():
        pytest.skip("no deploy/Dockerfile.dockerignore")
    patterns = [
        p.strip()
        for p in ignore.read_text(encoding="utf-8").splitlines()
        if p.strip() and not p.startswith("#") and not p.startswith("!")
    ]
    for src in (s for group in dockerfile_copy_sources() for s in group):
        hits = [
            p
            for p in patterns
            if fnmatch.fnmatch(src, p) or fnmatch.fnmatch(src, p.removeprefix("**/"))
        ]
        assert not hits, (
            f"deploy/Dockerfile.dockerignore pattern(s) {hits} exclude COPY source {src!r}"
        )


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_run_command_names_an_importable_service_class(name):
    svc = services().get(name)
    assert svc is not None, f"docker-compose.yml has no service {name!r}"
    specs = run_specs(command(svc))
    assert len(specs) == 1, (
        f"compose service {name!r} should run exactly one MODULE:CLASS, got {specs}"
    )
    module_name, _, class_name = specs[0].partition(":")
    assert module_name and class_name, f"compose service {name!r}: {specs[0]!r} is not MODULE:CLASS"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        pytest.fail(
            f"compose service {name!r} runs {specs[0]!r}, but {module_name} does not import: {exc}"
        )
    cls = getattr(module, class_name, None)
    assert isinstance(cls, type), (
        f"compose service {name!r} runs {specs[0]!r}: no class {class_name} in {module_name}"
    )
    assert getattr(cls, "name", None) == name, (
        f"{specs[0]} has nameko name {getattr(cls, 'name', None)!r}; the compose service, "
        f"Prometheus job and metrics `service` label all say {name!r}"
    )


def lianxin_subcommands_used() -> dict[str, set[str]]:
    """subcommand -> where it is used (compose, Dockerfile, k8s)."""
    used: dict[str, set[str]] = {}
    for name, svc in lianxin_services().items():
        used.setdefault(command(svc)[1], set()).add(f"docker-compose.yml:{name}")
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("CMD "):
            cmd = json.loads(line[4:])
            used.setdefault(cmd[1], set()).add("deploy/Dockerfile CMD")
    for where, container in k8s_containers():
        cmd = container.get("command") or []
        if cmd[:1] == ["lianxin"]:
            used.setdefault(cmd[1], set()).add(where)
    return used


def test_lianxin_subcommands_used_by_deploy_files_exist():
    import click

    from lianxin.cli import main

    assert isinstance(main, click.Group), "lianxin.cli.main must be a click group"
    for subcommand, where in lianxin_subcommands_used().items():
        assert subcommand in main.commands, (
            f"`lianxin {subcommand}` (used in {sorted(where)}) is not a subcommand; "
            f"lianxin has {sorted(main.commands)}"
        )


def test_environment_given_to_app_containers_is_read_by_the_code():
    text = code_text()
    assert text.strip(), "no services/*/config.yml, gateway/config.yml or lianxin/**/*.py to read"
    given: dict[str, set[str]] = {}
    for name, svc in lianxin_services().items():
        for var in environment(svc):
            given.setdefault(var, set()).add(f"docker-compose.yml:{name}")
    for line in DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        if line.startswith("ENV "):
            for token in shlex.split(line[4:]):
                var = token.split("=", 1)[0]
                if not INTERPRETER_ENV.match(var):
                    given.setdefault(var, set()).add("deploy/Dockerfile")
    for where, container in k8s_containers():
        for var in k8s_env_names(container):
            given.setdefault(var, set()).add(where)
    unread = {var: sorted(where) for var, where in given.items() if not reads_env(var, text)}
    assert not unread, (
        f"environment variables set for app containers but read nowhere in the code "
        f'(config.yml `${{NAME` or a quoted "NAME" in lianxin/): {unread}'
    )


def test_app_containers_get_the_contract_environment():
    for name, svc in run_services().items():
        env = environment(svc)
        prefix, port = APP_SERVICES[name]
        assert "@rabbitmq:5672" in env.get("AMQP_URI", ""), (
            f"{name}: AMQP_URI must point at rabbitmq:5672"
        )
        assert env.get("AMQP_URI", "").startswith("pyamqp://"), (
            f"{name}: AMQP_URI must be pyamqp://"
        )
        assert RETIRED_JWT_SECRET not in env, (
            f"{name}: tokens are EdDSA now (accounts signs, everyone verifies with its public "
            f"keys); {RETIRED_JWT_SECRET} is gone"
        )
        if name in SITE_KEY_SERVICES:
            assert env.get("LIANXIN_SITE_KEY", "").startswith("${LIANXIN_SITE_KEY:?"), (
                f"{name}: LIANXIN_SITE_KEY must be ${{LIANXIN_SITE_KEY:?...}} (required, no default)"
            )
        assert env.get("METRICS_BIND") == "0.0.0.0", (
            f"{name}: METRICS_BIND must be 0.0.0.0 in a container"
        )
        assert metrics_port(name) == port, f"{name}: {prefix}_METRICS_PORT should be {port}"
        db_urls = {k for k in env if k.endswith("_DB_URL")}
        own = {f"{prefix}_DB_URL"} if name in DB_SERVICES else set()
        assert db_urls == own, (
            f"{name} gets database URL(s) {sorted(db_urls)}, expected {sorted(own)}"
        )
        if name == "gateway":
            assert env.get("GATEWAY_ADDRESS") == f"0.0.0.0:{GATEWAY_HTTP_PORT}", (
                "gateway: GATEWAY_ADDRESS must be 0.0.0.0:8000 in a container"
            )
    migrate_urls = {k for k in environment(services()["migrate"]) if k.endswith("_DB_URL")}
    assert migrate_urls == {f"{APP_SERVICES[s][0]}_DB_URL" for s in DB_SERVICES}, (
        f"migrate must get every service's database URL, gets {sorted(migrate_urls)}"
    )
    # The demo seed signs its tokens with the issuer's key and adds the demo staff's
    # accounts: the accounts database, no other.
    seed_urls = {k for k in environment(services()["seed"]) if k.endswith("_DB_URL")}
    assert seed_urls == {"ACCOUNTS_DB_URL"}, f"seed gets database URL(s) {sorted(seed_urls)}"


def test_deploy_files_know_exactly_the_services_of_the_code():
    """The processes, databases and metrics ports here are those of lianxin/services.py
    and each service's config.yml default."""
    from lianxin.services import SERVICES, WITH_DATABASE, package_dir

    assert set(APP_SERVICES) == set(SERVICES), (
        f"lianxin.services.SERVICES is {sorted(SERVICES)}; this file knows {sorted(APP_SERVICES)}"
    )
    assert set(DB_SERVICES) == set(WITH_DATABASE), (
        f"services with a database: code {sorted(WITH_DATABASE)}, here {sorted(DB_SERVICES)}"
    )
    for name, (prefix, port) in APP_SERVICES.items():
        config = (package_dir(name) / "config.yml").read_text(encoding="utf-8")
        assert f"${{{prefix}_METRICS_PORT:{port}}}" in config, (
            f"{name}/config.yml does not default {prefix}_METRICS_PORT to {port}"
        )
        if name in DB_SERVICES:
            assert f"${{{prefix}_DB_URL:" in config, f"{name}/config.yml reads no {prefix}_DB_URL"


def test_each_service_is_given_only_settings_it_reads():
    """Per process: a variable is read by that service's own config.yml or by the kit
    (lianxin/), so a setting meant for one service (PUBLIC_URL, DEFAULT_CENTER) is not
    spread over the others."""
    from lianxin.services import package_dir

    kit = "\n".join(f.read_text(encoding="utf-8") for f in sorted(ROOT.glob("lianxin/**/*.py")))
    for name, svc in run_services().items():
        own = (package_dir(name) / "config.yml").read_text(encoding="utf-8")
        unread = sorted(v for v in environment(svc) if not reads_env(v, own + "\n" + kit))
        assert not unread, f"compose service {name!r} is given {unread}, which it never reads"


def site_key_holders() -> tuple[set[str], set[str]]:
    """(compose services, k8s workloads) given LIANXIN_SITE_KEY."""
    in_compose = {n for n, s in services().items() if "LIANXIN_SITE_KEY" in environment(s)}
    in_k8s = set()
    for kind in ("Deployment", "Job"):
        for _, doc in k8s_objects(kind):
            pod = doc["spec"]["template"]["spec"]
            for container in [*pod["containers"], *(pod.get("initContainers") or [])]:
                if "LIANXIN_SITE_KEY" in k8s_env_names(container):
                    in_k8s.add(doc["metadata"]["name"])
    return in_compose, in_k8s


def test_site_key_goes_to_the_gateway_and_accounts_only():
    in_compose, in_k8s = site_key_holders()
    assert in_compose == SITE_KEY_SERVICES, (
        f"compose gives LIANXIN_SITE_KEY to {sorted(in_compose)}"
    )
    assert in_k8s == SITE_KEY_SERVICES, f"deploy/k8s gives LIANXIN_SITE_KEY to {sorted(in_k8s)}"
    for name in SITE_KEY_SERVICES:
        (container,) = k8s_deployments()[name]["spec"]["template"]["spec"]["containers"]
        (item,) = [e for e in container["env"] if e["name"] == "LIANXIN_SITE_KEY"]
        assert item["valueFrom"]["secretKeyRef"] == {
            "name": "lianxin-secrets",
            "key": "LIANXIN_SITE_KEY",
        }, f"Deployment {name}: LIANXIN_SITE_KEY must come from the Secret lianxin-secrets"
    from lianxin.people import SITE_KEY_ENV

    assert SITE_KEY_ENV == "LIANXIN_SITE_KEY", "the code reads the site key under another name"


def deploy_text_files() -> list[Path]:
    """Every file of the deployment and of the scripts that start or check the system."""
    files = [COMPOSE_FILE, ROOT / "Makefile", ROOT / ".ci" / "run"]
    files += [p for p in sorted(DEPLOY.rglob("*")) if p.is_file()]
    files += sorted((ROOT / "scripts").glob("*.sh")) + sorted((ROOT / "bench").glob("*.py"))
    return [f for f in files if f.is_file()]


def test_no_deploy_file_mentions_the_retired_jwt_secret():
    mentions = [
        str(f.relative_to(ROOT))
        for f in deploy_text_files()
        if RETIRED_JWT_SECRET in f.read_text(encoding="utf-8", errors="replace")
    ]
    assert not mentions, (
        f"{RETIRED_JWT_SECRET} is gone (tokens are EdDSA, verified with the accounts "
        f"service's public keys), yet {mentions} still name it"
    )
    assert len(deploy_text_files()) > 20, "the scan found too few files to mean anything"


def test_accounts_refuses_the_demo_password_in_production():
    """LIANXIN_ENV=production (the accounts service refuses to start while an account has
    the demo password) in both deployments; PUBLIC_URL (invitation links) is the Ingress."""
    compose_env = environment(services()["accounts"])
    assert compose_env.get("LIANXIN_ENV") == "${LIANXIN_ENV:-production}", compose_env
    (container,) = k8s_deployments()["accounts"]["spec"]["template"]["spec"]["containers"]
    literal = {e["name"]: e.get("value") for e in container.get("env") or []}
    assert literal.get("LIANXIN_ENV") == "production", "k8s accounts: LIANXIN_ENV=production"
    (ingress,) = [d for _, d in k8s_objects("Ingress")]
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert literal.get("PUBLIC_URL") in {f"https://{h}" for h in hosts}, (
        f"k8s accounts: PUBLIC_URL {literal.get('PUBLIC_URL')!r} is not the Ingress host {hosts}"
    )
    accounts_config = (ROOT / "services" / "accounts" / "config.yml").read_text(encoding="utf-8")
    for var in ("LIANXIN_ENV", "PUBLIC_URL"):
        assert reads_env(var, accounts_config), f"services/accounts/config.yml reads no {var}"


def test_database_urls_point_at_the_service_database_on_postgres():
    for name, svc in lianxin_services().items():
        for key, url in environment(svc).items():
            if not key.endswith("_DB_URL"):
                continue
            database = key.removesuffix("_DB_URL").lower()
            pattern = (
                r"postgresql\+psycopg2://lianxin:\$\{POSTGRES_PASSWORD:\?[^}]*\}"
                rf"@postgres:5432/{database}"
            )
            assert re.fullmatch(pattern, url), f"{name}: {key}={url!r} does not match {pattern}"


def test_secrets_are_required_from_the_environment_never_written_down():
    for name, svc in services().items():
        for key, value in environment(svc).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), (
                    f"{name}: {key} must be ${{VAR:?message}} (no literal, no default), got {value!r}"
                )
            for default in re.findall(r"\$\{(\w*(?:PASSWORD|SECRET)\w*)(:-|-)", value):
                pytest.fail(f"{name}: {key} gives secret {default[0]} a default")


def test_depends_on_names_real_services_with_valid_conditions():
    names = set(services())
    for name, svc in services().items():
        depends = svc.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            assert target in names, f"{name} depends on unknown service {target!r}"
            condition = (spec or {}).get("condition", "service_started")
            assert condition in DEPENDS_CONDITIONS, (
                f"{name} -> {target}: unknown condition {condition!r}"
            )
            if condition == "service_healthy":
                assert services()[target].get("healthcheck"), (
                    f"{name} waits for {target} healthy, but {target} has no healthcheck"
                )
            if condition == "service_completed_successfully":
                assert services()[target].get("restart", "no") in ("no", "on-failure", False), (
                    f"{name} waits for {target} to complete, but {target} restarts forever"
                )


def conditions(name: str) -> dict[str, str]:
    depends = services()[name].get("depends_on") or {}
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {t: (s or {}).get("condition", "service_started") for t, s in depends.items()}


def test_start_order_follows_the_contract():
    assert conditions("migrate") == {"postgres": "service_healthy"}, (
        f"migrate must wait for postgres healthy only, waits for {conditions('migrate')}"
    )
    for name, svc in lianxin_services().items():
        env, deps = environment(svc), conditions(name)
        if "AMQP_URI" in env:
            assert deps.get("rabbitmq") == "service_healthy", (
                f"{name} must wait for rabbitmq healthy"
            )
        if name != "migrate" and any(k.endswith("_DB_URL") for k in env):
            assert deps.get("migrate") == "service_completed_successfully", (
                f"{name} uses a database, so it must wait for migrate to complete"
            )
            assert deps.get("postgres") == "service_healthy", (
                f"{name} must wait for postgres healthy"
            )


def test_depends_on_has_no_cycle():
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"depends_on cycle: {' -> '.join(path + (name,))}"
        for target in conditions(name):
            visit(target, path + (name,))

    for name in services():
        visit(name, ())


def test_mounted_host_paths_exist():
    for name, svc in services().items():
        for host, target in bind_mounts(svc):
            assert (ROOT / host).exists(), (
                f"{name} mounts {host} at {target}, but {host} does not exist"
            )


def healthcheck_test(name: str) -> str:
    check = services()[name].get("healthcheck") or {}
    test = check.get("test")
    assert test and not check.get("disable"), f"compose service {name!r} has no healthcheck"
    return test if isinstance(test, str) else " ".join(test)


def test_gateway_replicas_share_the_public_throttle_through_redis():
    """Several gateways must count a client together (gateway/ratelimit.py)."""
    gateway = services()["gateway"]
    storage = environment(gateway)["RATE_LIMIT_STORAGE"]
    assert storage.startswith("redis://"), storage
    host = storage.split("://", 1)[1].split("@")[-1].split(":")[0].split("/")[0]
    assert host in services() and services()[host]["image"].startswith("redis:7"), host
    assert "redis-cli" in healthcheck_test(host) and "ping" in healthcheck_test(host)
    assert gateway["depends_on"][host] == {"condition": "service_healthy"}
    from gateway.ratelimit import ClientLimit  # the URI is one the limits library takes

    assert ClientLimit(rate=1, burst=10, storage_uri=storage).item.amount == 10


def test_broker_and_database_have_healthchecks():
    assert "rabbitmq-diagnostics" in healthcheck_test("rabbitmq") and "ping" in healthcheck_test(
        "rabbitmq"
    )
    assert "pg_isready" in healthcheck_test("postgres")


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_healthcheck_probes_the_service_own_port(name):
    test = healthcheck_test(name)
    assert "python" in test and "urllib" in test, (
        f"{name}: the healthcheck must use python's urllib (python:3.11-slim has no curl/wget)"
    )
    urls = re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/[\w/]*)", test)
    assert len(urls) == 1, f"{name}: healthcheck should request one local URL, found {urls}"
    port, path = int(urls[0][0]), urls[0][1]
    # Healthy = consuming from the broker (lianxin/readiness.py): what `seed` waits for.
    expected = (
        (GATEWAY_HTTP_PORT, "/readyz") if name == "gateway" else (metrics_port(name), "/readyz")
    )
    assert (port, path) == expected, (
        f"{name}: healthcheck requests :{port}{path}, expected :{expected[0]}{expected[1]}"
    )


def test_gateway_publishes_its_http_port():
    published = {container_port(p) for p in services()["gateway"].get("ports") or []}
    assert GATEWAY_HTTP_PORT in published, (
        f"gateway must publish port {GATEWAY_HTTP_PORT}, publishes {published}"
    )


def test_postgres_init_script_creates_one_database_per_service():
    scripts = []
    for host, target in bind_mounts(services()["postgres"]):
        if target.rstrip("/").startswith("/docker-entrypoint-initdb.d"):
            path = ROOT / host
            scripts += [path] if path.is_file() else sorted(path.glob("*.s[qh]*"))
    assert scripts, "postgres mounts no init script under /docker-entrypoint-initdb.d"
    text = "\n".join(s.read_text(encoding="utf-8") for s in scripts)
    text = re.sub(r"--[^\n]*|#[^\n]*", "", text)  # SQL / shell comments
    created = set(re.findall(r"CREATE DATABASE\s+\"?(\w+)\"?", text, flags=re.IGNORECASE))
    assert created == set(DB_SERVICES), (
        f"init script creates {sorted(created)}, expected {sorted(DB_SERVICES)}"
    )
    owner = environment(services()["postgres"]).get("POSTGRES_USER")
    assert owner == "lianxin", f"postgres POSTGRES_USER should be lianxin, is {owner!r}"
    owners = set(re.findall(r"OWNER\s+\"?(\w+)", text, flags=re.IGNORECASE))
    assert owners == {owner}, f"databases should be owned by {owner}, init script says {owners}"


def test_rabbitmq_enables_management_and_prometheus_plugins():
    path = mounted_host_path("rabbitmq", "/etc/rabbitmq/enabled_plugins")
    assert path is not None and path.is_file(), (
        "rabbitmq must mount deploy/rabbitmq/enabled_plugins"
    )
    text = path.read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"\[\s*[\w\s,]*\]\s*\.", text), (
        f"enabled_plugins is not an Erlang list term: {text!r}"
    )
    plugins = {p.strip() for p in text.strip("[]. \n").split(",")}
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= plugins, f"enabled plugins: {plugins}"
    for _host, target in bind_mounts(services()["rabbitmq"]):
        if target.startswith("/etc/rabbitmq/conf.d/"):
            assert target.endswith(".conf"), (
                f"rabbitmq only loads conf.d/*.conf, {target} is ignored"
            )


# ---------------------------------------------------------------- Prometheus


@functools.cache
def prometheus_config() -> dict[str, Any]:
    return _load_yaml(PROMETHEUS_FILE)


def scrape_targets() -> list[tuple[str, str, int]]:
    """(job, host, port) of every static or DNS scrape target."""
    targets = []
    for job in prometheus_config().get("scrape_configs") or []:
        for static in job.get("static_configs") or []:
            for target in static.get("targets") or []:
                host, _, port = target.rpartition(":")
                targets.append((job["job_name"], host, int(port)))
        for dns in job.get("dns_sd_configs") or []:
            assert dns.get("type", "SRV") == "A", f"job {job['job_name']}: use type A with a port"
            targets += [(job["job_name"], host, int(dns["port"])) for host in dns["names"]]
    return targets


def test_prometheus_targets_are_compose_services_on_ports_they_serve():
    prometheus = service_with_image("prom/prometheus")
    targets = scrape_targets()
    assert targets, "deploy/prometheus/prometheus.yml has no scrape targets"
    jobs = [job["job_name"] for job in prometheus_config()["scrape_configs"]]
    assert len(jobs) == len(set(jobs)), f"duplicate job names in prometheus.yml: {jobs}"
    for job, host, port in targets:
        service = prometheus if host == "localhost" else host
        assert service in services(), (
            f"job {job!r} scrapes {host}:{port}: no compose service {host!r}"
        )
        assert port in service_ports(service), (
            f"job {job!r} scrapes {host}:{port}, but {service} serves {sorted(service_ports(service))}"
        )


def test_prometheus_scrapes_every_app_service_and_the_broker():
    scraped = {(job, host, port) for job, host, port in scrape_targets()}
    for name in APP_SERVICES:
        assert (name, name, metrics_port(name)) in scraped, (
            f"prometheus.yml needs job {name!r} scraping {name}:{metrics_port(name)}"
        )
    assert any(host == "rabbitmq" and port == 15692 for _, host, port in scraped), (
        "prometheus.yml should scrape rabbitmq:15692 (rabbitmq_prometheus)"
    )


def test_prometheus_labels_every_app_series_with_its_service():
    """Per-center series leave ``service`` to the scrape (lianxin/metrics.py, ``per_center``)."""
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    for name in APP_SERVICES:
        job = jobs[name]
        assert job.get("honor_labels") is True, f"job {name}: honor_labels keeps the kit's own"
        assert {"target_label": "service", "replacement": name} in job.get("relabel_configs", []), (
            f"job {name} must add service={name}"
        )


def test_prometheus_reads_the_mounted_config_and_rules():
    prometheus = service_with_image("prom/prometheus")
    flags = dict(arg.split("=", 1) for arg in command(services()[prometheus]) if "=" in arg)
    config = flags.get("--config.file", "/etc/prometheus/prometheus.yml")
    assert mounted_host_path(prometheus, config) == PROMETHEUS_FILE.resolve(), (
        f"{prometheus} reads {config}, which is not mounted from deploy/prometheus/prometheus.yml"
    )
    rule_files = prometheus_config().get("rule_files") or []
    assert rule_files, "prometheus.yml loads no rule_files"
    in_container = [posixpath.join(posixpath.dirname(config), r) for r in rule_files]
    for rule_file, path in zip(rule_files, in_container, strict=True):
        assert not posixpath.isabs(rule_file), (
            f"rule file {rule_file}: name it relative to prometheus.yml, so that promtool "
            "finds it from the repository as Prometheus does in the container"
        )
        host = mounted_host_path(prometheus, path)
        assert host is not None and host.is_file(), (
            f"rule file {rule_file} ({path} in the container) is not mounted from an existing file"
        )
        assert host == (PROMETHEUS_FILE.parent / rule_file).resolve(), (
            f"rule file {rule_file}: the container reads {host}, the repository has it elsewhere"
        )
    assert ALERTS_FILE.resolve() in {mounted_host_path(prometheus, r) for r in in_container}, (
        "prometheus.yml does not load deploy/prometheus/alerts.yml"
    )


@functools.cache
def alert_rules() -> list[dict[str, Any]]:
    doc = _load_yaml(ALERTS_FILE)
    assert isinstance(doc, dict) and doc.get("groups"), "alerts.yml has no `groups:`"
    return [rule for group in doc["groups"] for rule in group.get("rules") or []]


def test_alert_rules_are_well_formed():
    names = [rule.get("alert") for rule in alert_rules()]
    assert all(names), "every rule in alerts.yml must be an alert with a name"
    assert len(names) == len(set(names)), f"duplicate alert names: {names}"
    for rule in alert_rules():
        alert = rule["alert"]
        assert isinstance(rule.get("expr"), str) and rule["expr"].strip(), f"alert {alert}: no expr"
        assert rule["expr"].count("(") == rule["expr"].count(")"), (
            f"alert {alert}: unbalanced parentheses"
        )
        assert re.fullmatch(r"(\d+[smhdwy])+", str(rule.get("for", "0s"))), (
            f"alert {alert}: bad `for`"
        )
        assert (rule.get("labels") or {}).get("severity") in {"critical", "warning", "info"}, (
            f"alert {alert}: labels.severity must be critical, warning or info"
        )
        assert (rule.get("annotations") or {}).get("summary"), (
            f"alert {alert}: no annotations.summary"
        )


def test_alert_expressions_use_known_metrics_only():
    for rule in alert_rules():
        unknown = unknown_metrics(rule["expr"])
        assert not unknown, (
            f"alert {rule['alert']} uses unknown metric(s) {sorted(unknown)}; "
            f"known: {sorted(KNOWN_METRICS)} and rabbitmq_*"
        )


def test_availability_alerts_and_dashboard_name_every_service():
    rules = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    down = re.search(r'up\{job=~"([\w|]+)"\}', rules["LianxinTargetDown"])
    assert down and set(down.group(1).split("|")) == set(APP_SERVICES), (
        f"LianxinTargetDown watches {down.group(1) if down else None}"
    )
    absent = set(re.findall(r'absent\(up\{job="(\w+)"\}\)', rules["LianxinServiceMissing"]))
    assert absent == set(APP_SERVICES), f"LianxinServiceMissing watches {sorted(absent)}"
    for path in dashboards():
        for match in re.findall(r'up\{job=~\\"([\w|]+)\\"\}', path.read_text(encoding="utf-8")):
            assert set(APP_SERVICES) <= set(match.split("|")), f"{path.name}: up of {match}"


def test_alerts_cover_targets_outbox_dead_letters_and_errors():
    used = set().union(*(promql_metric_names(rule["expr"]) for rule in alert_rules()))
    for needed in (
        "up",
        "lianxin_tickets_sla_breaches_total",
        "lianxin_notify_deliveries_total",
        "lianxin_outbox_oldest_age_seconds",
        "lianxin_outbox_backlog",
        "lianxin_dead_letters_total",
        "lianxin_entrypoint_calls_total",
    ):
        assert needed in used, f"no alert in alerts.yml watches {needed}"


# ---------------------------------------------------------------- Grafana


def grafana_service() -> str:
    return service_with_image("grafana/grafana")


@functools.cache
def datasource_uids() -> set[str]:
    uids = set()
    for path in sorted((GRAFANA / "provisioning" / "datasources").glob("*.y*ml")):
        for source in _load_yaml(path).get("datasources") or []:
            uids.add(source.get("uid"))
            url = re.fullmatch(r"https?://([\w.-]+):(\d+)/?", source.get("url", ""))
            assert url, f"{path.name}: datasource {source.get('name')} url {source.get('url')!r}"
            host, port = url.group(1), int(url.group(2))
            assert host in services() and port in service_ports(host), (
                f"{path.name}: datasource url {source['url']} is not a compose service port"
            )
    assert uids, "deploy/grafana/provisioning/datasources provisions no datasource"
    return uids


def test_grafana_mounts_provisioning_and_dashboards():
    grafana = grafana_service()
    provisioning = mounted_host_path(grafana, "/etc/grafana/provisioning")
    assert provisioning == (GRAFANA / "provisioning").resolve(), (
        "grafana must mount deploy/grafana/provisioning at /etc/grafana/provisioning"
    )
    assert datasource_uids()
    providers = [
        p
        for path in sorted((GRAFANA / "provisioning" / "dashboards").glob("*.y*ml"))
        for p in _load_yaml(path).get("providers") or []
    ]
    assert providers, "deploy/grafana/provisioning/dashboards has no dashboard provider"
    for provider in providers:
        path = provider.get("options", {}).get("path", "")
        host = mounted_host_path(grafana, path)
        assert host is not None and list(host.glob("*.json")), (
            f"dashboard provider {provider.get('name')} reads {path}, which holds no mounted dashboard"
        )


def dashboards() -> list[Path]:
    found = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert found, "deploy/grafana/dashboards holds no dashboard"
    return found


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for panel in panels for p in [panel, *all_panels(panel.get("panels") or [])]]


def test_dashboards_parse_and_query_known_metrics():
    for path in dashboards():
        try:
            dash = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            pytest.fail(f"{path.name} is not valid JSON: {exc}")
        assert dash.get("uid") and dash.get("title"), f"{path.name}: dashboard needs uid and title"
        panels = all_panels(dash.get("panels") or [])
        ids = [p.get("id") for p in panels]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        queried = 0
        for panel in panels:
            uid = (panel.get("datasource") or {}).get("uid")
            assert panel["type"] == "row" or uid in datasource_uids(), (
                f"{path.name}: panel {panel.get('title')!r} uses datasource {uid!r}, "
                f"provisioned: {sorted(datasource_uids())}"
            )
            for target in panel.get("targets") or []:
                queried += 1
                unknown = unknown_metrics(target.get("expr", ""))
                assert not unknown, (
                    f"{path.name}: panel {panel.get('title')!r} queries unknown metric(s) {sorted(unknown)}"
                )
        assert queried, f"{path.name}: no panel queries anything"
        for variable in (dash.get("templating") or {}).get("list") or []:
            query = variable.get("query")
            query = query.get("query", "") if isinstance(query, dict) else str(query or "")
            unknown = unknown_metrics(query)
            assert not unknown, (
                f"{path.name}: variable ${variable.get('name')} queries {sorted(unknown)}"
            )


def deploy_metric_names() -> set[str]:
    names = set().union(*(promql_metric_names(rule["expr"]) for rule in alert_rules()))
    for path in dashboards():
        for panel in all_panels(json.loads(path.read_text(encoding="utf-8")).get("panels") or []):
            for target in panel.get("targets") or []:
                names |= promql_metric_names(target.get("expr", ""))
    return {n for n in names if n.startswith("lianxin_")}


def test_metrics_used_by_alerts_and_dashboards_are_declared_in_the_code():
    unknown = sorted(deploy_metric_names() - KNOWN_METRICS)
    assert not unknown, f"deploy/ queries metrics no code declares: {unknown}"


# ---------------------------------------------------------------- Kubernetes


@functools.cache
def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    files = sorted(K8S.glob("*.yaml"))
    assert files, "deploy/k8s has no manifests"
    docs = []
    for path in files:
        try:
            loaded = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            pytest.fail(f"deploy/k8s/{path.name} is not valid YAML: {exc}")
        docs += [(path.name, doc) for doc in loaded if doc]
    return docs


def k8s_objects(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(f, d) for f, d in k8s_documents() if d.get("kind") == kind]


def k8s_containers() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for kind in ("Deployment", "Job"):
        for file, doc in k8s_objects(kind):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                found.append((f"deploy/k8s/{file}:{kind}/{doc['metadata']['name']}", container))
    return found


def k8s_env_names(container: dict[str, Any]) -> set[str]:
    names = {item["name"] for item in container.get("env") or []}
    maps = {d["metadata"]["name"]: d.get("data") or {} for _, d in k8s_objects("ConfigMap")}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            assert ref["name"] in maps, (
                f"envFrom names ConfigMap {ref['name']!r}, not in deploy/k8s"
            )
            names |= set(maps[ref["name"]])
    return names


def test_k8s_manifests_are_kubernetes_objects_listed_by_kustomization():
    kustomizations = []
    for file, doc in k8s_documents():
        if doc.get("kind") == "Kustomization":
            kustomizations.append(doc)
            continue
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), (
            f"deploy/k8s/{file}: a document lacks apiVersion, kind or metadata.name"
        )
    for kustomization in kustomizations:
        listed = set(kustomization.get("resources") or [])
        for resource in listed:
            assert (K8S / resource).is_file(), f"kustomization.yaml lists missing {resource}"
        unlisted = {p.name for p in K8S.glob("*.yaml")} - listed - {"kustomization.yaml"}
        assert not unlisted, f"kustomization.yaml does not list {sorted(unlisted)}"


def test_k8s_workloads_match_compose_commands_images_and_environment():
    compose_image = image_repository(next(iter(lianxin_services().values()))["image"])
    covered = set()
    for where, container in k8s_containers():
        name = container["name"]
        assert name in lianxin_services(), (
            f"{where}: container {name!r} has no compose service of that name"
        )
        svc = services()[name]
        covered.add(name)
        assert container.get("command") == command(svc), (
            f"{where}: command {container.get('command')} differs from compose {command(svc)}"
        )
        assert image_repository(container["image"]) == compose_image, (
            f"{where}: image {container['image']!r}, compose builds {compose_image!r}"
        )
        assert k8s_env_names(container) == set(environment(svc)), (
            f"{where}: environment {sorted(k8s_env_names(container))} differs from compose "
            f"{sorted(environment(svc))}"
        )
        literal = {
            item["name"]: item["value"] for item in container.get("env") or [] if "value" in item
        }
        for var, value in literal.items():
            compose_value = environment(svc)[var]
            if "${" not in compose_value:
                assert str(value) == compose_value, (
                    f"{where}: {var}={value!r}, compose says {compose_value!r}"
                )
    missing = (set(run_services()) | {"migrate"}) - covered
    assert not missing, f"deploy/k8s has no workload for {sorted(missing)}"
    jobs = {
        c["name"]
        for f, d in k8s_objects("Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert "migrate" in jobs, "migrations must run as a Job in deploy/k8s, not from each replica"


def test_k8s_credentials_come_from_secrets():
    maps = {d["metadata"]["name"] for _, d in k8s_objects("ConfigMap")}
    for where, container in k8s_containers():
        for item in container.get("env") or []:
            source = item.get("valueFrom") or {}
            if CREDENTIAL_VARS.match(item["name"]) or SECRET_NAME.search(item["name"]):
                assert "secretKeyRef" in source, f"{where}: {item['name']} must come from a Secret"
                assert source["secretKeyRef"]["key"] == item["name"], (
                    f"{where}: {item['name']} reads Secret key {source['secretKeyRef']['key']!r}"
                )
            if "configMapKeyRef" in source:
                assert source["configMapKeyRef"]["name"] in maps, (
                    f"{where}: ConfigMap {source['configMapKeyRef']['name']!r} is not in deploy/k8s"
                )
    for _, config_map in k8s_objects("ConfigMap"):
        leaked = [
            k
            for k in config_map.get("data") or {}
            if CREDENTIAL_VARS.match(k) or SECRET_NAME.search(k)
        ]
        assert not leaked, f"ConfigMap {config_map['metadata']['name']} holds credentials {leaked}"
    assert not k8s_objects("Secret"), "deploy/k8s must not commit a Secret; create it out of band"


def test_k8s_secret_example_creates_exactly_the_keys_the_manifests_read():
    """config.yaml says how to create the Secret lianxin-secrets; the keys it names are
    those every secretKeyRef of the manifests reads (no missing key, no stale one)."""
    example = (K8S / "config.yaml").read_text(encoding="utf-8").split("apiVersion:")[0]
    created = set(re.findall(r"--from-literal=(\w+)=", example))
    read = set()
    for kind in ("Deployment", "Job"):
        for _, doc in k8s_objects(kind):
            pod = doc["spec"]["template"]["spec"]
            for container in [*pod["containers"], *(pod.get("initContainers") or [])]:
                for item in container.get("env") or []:
                    ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                    if ref and ref["name"] == "lianxin-secrets":
                        read.add(ref["key"])
    assert created == read, (
        f"config.yaml's Secret example creates {sorted(created)}; the manifests read {sorted(read)}"
    )
    assert {"LIANXIN_SITE_KEY", "ACCOUNTS_DB_URL"} <= created
    assert RETIRED_JWT_SECRET not in created


def test_k8s_ports_probes_and_services_line_up():
    deployments = {d["metadata"]["name"]: d for _, d in k8s_objects("Deployment")}
    assert set(deployments) == set(APP_SERVICES), (
        f"Deployments {sorted(deployments)} != {sorted(APP_SERVICES)}"
    )
    k8s_services = {d["metadata"]["name"]: d for _, d in k8s_objects("Service")}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), (
            f"Deployment {name}: selector does not match pod labels"
        )
        (container,) = pod["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports") or []}
        port = metrics_port(name)
        assert ports.get("metrics") == port, (
            f"Deployment {name}: metrics containerPort should be {port}"
        )
        assert str(pod["metadata"].get("annotations", {}).get("prometheus.io/port")) == str(port), (
            f"Deployment {name}: prometheus.io/port annotation should be {port}"
        )
        if name == "gateway":
            assert ports.get("http") == GATEWAY_HTTP_PORT, (
                "Deployment gateway: http containerPort should be 8000"
            )
        for probe in ("readinessProbe", "livenessProbe"):
            probe_port = container.get(probe, {}).get("httpGet", {}).get("port")
            assert probe_port in ports or probe_port in ports.values(), (
                f"Deployment {name}: {probe} uses port {probe_port!r}, container has {ports}"
            )
        service = k8s_services.get(name)
        assert service is not None, f"Deployment {name} has no Service"
        assert service["spec"]["selector"].items() <= labels.items(), (
            f"Service {name} selects no pod of it"
        )
        for service_port in service["spec"]["ports"]:
            target = service_port.get("targetPort", service_port["port"])
            assert target in ports or target in ports.values(), (
                f"Service {name}: targetPort {target!r} is not a container port {ports}"
            )


def k8s_deployments() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in k8s_objects("Deployment")}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels only, as deploy/k8s uses) selects ``labels``."""
    assert not selector.get("matchExpressions"), "deploy/k8s selectors use matchLabels only"
    return (selector.get("matchLabels") or {}).items() <= labels.items()


@pytest.mark.parametrize("name", DB_SERVICES)
def test_k8s_services_wait_for_their_schema_in_an_init_container(name):
    """The migrate Job is applied with the Deployments; the pods wait for it."""
    from lianxin.cli import main

    assert any(p.name == "check" for p in main.commands["migrate"].params), (
        "`lianxin migrate --check` is what the init containers wait on"
    )
    pod = k8s_deployments()[name]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    inits = pod.get("initContainers") or []
    assert len(inits) == 1, f"Deployment {name}: one init container waits for the schema"
    (init,) = inits
    script = " ".join(init["command"])
    checks = re.findall(r"\blianxin (?:--log-level \w+ )?migrate --check ([\w ]+?)(?:;|$)", script)
    assert checks and checks[0].split() == [name], (
        f"Deployment {name}: the init container must run `lianxin migrate --check {name}` "
        f"(until it succeeds), runs {init['command']}"
    )
    assert re.search(r"\buntil\b.*\bdo sleep \d+", script), (
        f"Deployment {name}: the init container must retry until the schema is at head"
    )
    assert init["image"] == container["image"], f"Deployment {name}: init image differs"
    env = k8s_env_names(init)
    prefix = APP_SERVICES[name][0]
    assert {k for k in env if k.endswith("_DB_URL")} == {f"{prefix}_DB_URL"}, (
        f"Deployment {name}: the init container gets {sorted(env)}; only its own database URL"
    )
    assert env <= set(environment(services()["migrate"])), (
        f"Deployment {name}: init container environment {sorted(env)} is not the migrate one's"
    )
    for item in init.get("env") or []:
        if item["name"].endswith("_DB_URL"):
            assert item["valueFrom"]["secretKeyRef"]["key"] == item["name"]
    volumes = {v["name"] for v in pod.get("volumes") or []}
    assert {m["name"] for m in init.get("volumeMounts") or []} <= volumes
    assert init.get("securityContext", {}).get("readOnlyRootFilesystem") is True


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_k8s_readiness_reflects_broker_connectivity_and_liveness_does_not(name):
    """Readiness is /readyz (the service's consumers consume from the broker, see
    lianxin/readiness.py and tests/integration/test_readiness.py) on the container's own
    port; liveness stays /livez, so a broker outage restarts nothing."""
    (container,) = k8s_deployments()[name]["spec"]["template"]["spec"]["containers"]
    probe = container.get("readinessProbe", {}).get("httpGet", {})
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    expected_port = "http" if name == "gateway" else "metrics"
    assert probe.get("path") == "/readyz" and probe.get("port") == expected_port, (
        f"{name}: readiness asks {probe}, expected /readyz on {expected_port} (never "
        "/healthz: it asks every backend, and one down would pull every gateway)"
    )
    assert expected_port in ports, f"{name}: no container port named {expected_port}"
    if name != "gateway":
        assert ports["metrics"] == metrics_port(name)
    liveness = container.get("livenessProbe", {}).get("httpGet", {})
    assert liveness.get("path") == "/livez", (
        f"{name}: liveness stays shallow (/livez: no render of /metrics, no broker) so a "
        "broker outage restarts nothing"
    )


def test_k8s_every_service_has_a_disruption_budget():
    budgets = [d for _, d in k8s_objects("PodDisruptionBudget")]
    for name, deployment in k8s_deployments().items():
        mine = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert len(mine) == 1, f"Deployment {name}: {len(mine)} PodDisruptionBudgets select it"
        (budget,) = mine
        assert budget["apiVersion"] == "policy/v1"
        assert budget["spec"].get("maxUnavailable") == 1, (
            f"PodDisruptionBudget {budget['metadata']['name']}: maxUnavailable 1"
        )


def test_k8s_gateway_tickets_and_notify_scale_on_cpu():
    deployments = k8s_deployments()
    scaled = {}
    for _, hpa in k8s_objects("HorizontalPodAutoscaler"):
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        assert target["name"] in deployments, f"HPA scales unknown Deployment {target['name']}"
        scaled[target["name"]] = hpa
    assert set(scaled) == {"gateway", "tickets", "notify"}, f"HPAs scale {sorted(scaled)}"
    for name, hpa in scaled.items():
        spec = hpa["spec"]
        assert 2 <= spec["minReplicas"] < spec["maxReplicas"], f"HPA {name}: replicas"
        resources = [m["resource"] for m in spec["metrics"] if m["type"] == "Resource"]
        assert [r["name"] for r in resources] == ["cpu"], f"HPA {name}: scale on CPU"
        assert resources[0]["target"]["type"] == "Utilization"
        deployment = deployments[name]
        assert "replicas" not in deployment["spec"], (
            f"Deployment {name}: its HPA owns the replica count; `replicas:` would reset it "
            "on every apply"
        )
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["requests"].get("cpu"), (
            f"Deployment {name}: CPU utilization needs a CPU request"
        )


def network_policies(labels: dict[str, str], kind: str) -> list[dict[str, Any]]:
    """The ``kind`` (ingress/egress) rules of every NetworkPolicy that selects ``labels``."""
    rules: list[dict[str, Any]] = []
    for _, policy in k8s_objects("NetworkPolicy"):
        spec = policy["spec"]
        if selects(spec["podSelector"], labels) and kind.capitalize() in spec["policyTypes"]:
            rules += spec.get(kind) or []
    return rules


def rule_ports(rules: list[dict[str, Any]]) -> set[Any]:
    return {port["port"] for rule in rules for port in rule.get("ports") or []}


#: Ports a pod may reach: DNS, AMQP, PostgreSQL; the gateway's Redis; notify's channels.
EGRESS_PORTS = {
    "accounts": {53, 5672, 5432},
    "gateway": {53, 5672, 6379},
    "tickets": {53, 5672, 5432},
    "volunteers": {53, 5672, 5432},
    "events": {53, 5672, 5432},
    "notify": {53, 5672, 5432, 443, 465, 587},
    "reports": {53, 5672},
    "migrate": {53, 5432},
}


def test_k8s_network_policies_deny_by_default_and_allow_only_what_each_needs():
    policies = {d["metadata"]["name"]: d["spec"] for _, d in k8s_objects("NetworkPolicy")}
    deny = [
        p
        for p in policies.values()
        if p["podSelector"] == {} and not p.get("ingress", p.get("egress"))
    ]
    assert deny and set(deny[0]["policyTypes"]) == {"Ingress", "Egress"}, (
        "deploy/k8s needs a default-deny NetworkPolicy (podSelector {}, Ingress and Egress)"
    )
    workloads = {**k8s_deployments(), **{d["metadata"]["name"]: d for _, d in k8s_objects("Job")}}
    for name, workload in workloads.items():
        labels = pod_labels(workload)
        who = labels["app.kubernetes.io/name"]
        egress = network_policies(labels, "egress")
        for rule in egress:
            assert rule.get("to") and rule.get("ports"), f"{who}: an egress rule allows everything"
        assert rule_ports(egress) == EGRESS_PORTS[who], (
            f"{who} may reach ports {sorted(rule_ports(egress), key=str)}, "
            f"expected {sorted(EGRESS_PORTS[who])}"
        )
        ingress = network_policies(labels, "ingress")
        named = {
            port["name"]
            for container in workload["spec"]["template"]["spec"]["containers"]
            for port in container.get("ports") or []
        }
        # A port name the pod does not have opens nothing (the Job has no metrics port).
        opened = {p for p in rule_ports(ingress) if not isinstance(p, str) or p in named}
        expected_in = {"metrics", "http"} if who == "gateway" else set()
        if name in k8s_deployments():
            expected_in.add("metrics")
        assert opened == expected_in, (
            f"{who} accepts connections on {sorted(opened, key=str)}, "
            f"expected {sorted(expected_in)}"
        )
        for rule in ingress:
            assert rule.get("from"), f"{who}: an ingress rule admits everyone"
    scrape = network_policies(pod_labels(k8s_deployments()["tickets"]), "ingress")
    assert any(
        "prometheus" in json.dumps(rule["from"])
        for rule in scrape
        if "metrics" in rule_ports([rule])
    ), "Prometheus must be allowed to scrape the metrics ports"


def test_k8s_ingress_routes_the_gateway_with_tls():
    (ingress,) = [d for _, d in k8s_objects("Ingress")]
    spec = ingress["spec"]
    (tls,) = spec["tls"]
    assert tls["secretName"] == "lianxin-gateway-tls"
    assert (
        "lianxin-gateway-tls"
        in (K8S / "ingress.yaml").read_text(encoding="utf-8").split("apiVersion:")[0]
    ), "ingress.yaml must say how to create its TLS Secret"
    hosts = {rule["host"] for rule in spec["rules"]}
    assert hosts <= set(tls["hosts"]), f"hosts {hosts - set(tls['hosts'])} are served without TLS"
    gateway = {d["metadata"]["name"]: d for _, d in k8s_objects("Service")}["gateway"]
    service_ports = {p["name"] for p in gateway["spec"]["ports"]}
    for rule in spec["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "gateway" and backend["port"]["name"] in service_ports


# ---------------------------------------------------------------- tools (CI installs them)
#
# Each test below runs a real validator. A missing tool FAILS, naming how to install
# it: scripts/ensure-services.sh installs promtool; pyproject's test extras bring
# kubernetes-validate and check-jsonschema.


def tool(name: str, install: str) -> str:
    """The path of a command-line tool, from PATH or this interpreter's venv."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail(f"{name} is not installed; install it with: {install}", pytrace=False)
    return found


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)


PROMTOOL = "apt-get install -y prometheus  (scripts/ensure-services.sh does it)"


def test_promtool_checks_the_alert_rules():
    done = run_tool(tool("promtool", PROMTOOL), "check", "rules", str(ALERTS_FILE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_checks_the_config_from_the_repository():
    done = run_tool(
        tool("promtool", PROMTOOL), "check", "config", "deploy/prometheus/prometheus.yml"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout + done.stderr


CHECK_JSONSCHEMA = "pip install check-jsonschema  (pyproject's test extras)"


def test_compose_file_follows_the_compose_spec():
    checker = tool("check-jsonschema", CHECK_JSONSCHEMA)
    done = run_tool(checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_spec_check_does_refuse_a_wrong_file(tmp_path):
    checker = tool("check-jsonschema", CHECK_JSONSCHEMA)
    wrong = tmp_path / "compose.yml"
    wrong.write_text("services:\n  web:\n    image: nginx\n    restart_policy: always\n")
    done = run_tool(checker, "--builtin-schema", "vendor.compose-spec", str(wrong))
    assert done.returncode == 1 and "restart_policy" in done.stdout + done.stderr


#: What render_kustomization() understands; anything else in kustomization.yaml fails.
KUSTOMIZE_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


def render_kustomization(directory: Path = K8S) -> list[dict[str, Any]]:
    """``kubectl kustomize`` for the fields deploy/k8s uses — namespace, resources (files),
    images — in Python, so the render needs no kubectl (Debian's is 1.20; none is on PyPI)."""
    kustomization = _load_yaml(directory / "kustomization.yaml")
    unknown = set(kustomization) - KUSTOMIZE_FIELDS
    assert not unknown, (
        f"kustomization.yaml uses {sorted(unknown)}: teach render_kustomization() in "
        f"tests/unit/test_deploy.py (it renders only {sorted(KUSTOMIZE_FIELDS)})"
    )
    images = {i["name"]: i for i in kustomization.get("images") or []}
    rendered = []
    for resource in kustomization["resources"]:
        path = directory / resource
        assert path.is_file(), f"kustomization.yaml: {resource} is not a file"
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not doc:
                continue
            if "namespace" in kustomization and doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kustomization["namespace"]
            pod = (doc.get("spec") or {}).get("template", {}).get("spec") or {}
            for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
                image = images.get(image_repository(container["image"]))
                if image:
                    container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
            rendered.append(doc)
    return rendered


def _identity(doc: dict[str, Any]) -> tuple[str, str, str]:
    return doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]


def test_kustomization_renders_every_object_once_in_the_namespace():
    rendered = render_kustomization()
    identities = [_identity(d) for d in rendered]
    assert len(identities) == len(set(identities)), "an object is rendered twice"
    for doc in rendered:
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"]["namespace"] == "lianxin", _identity(doc)
    images = {
        c["image"]
        for d in rendered
        for c in (d.get("spec") or {}).get("template", {}).get("spec", {}).get("containers", [])
    }
    assert images == {"registry.example.org/lianxin/lianxin:0.1.0"}, images


def test_kustomization_render_agrees_with_kubectl_where_kubectl_is_installed():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("no kubectl here: the Python render above is what CI validates")
    done = run_tool(kubectl, "kustomize", str(K8S))
    assert done.returncode == 0, done.stderr
    theirs = sorted((d for d in yaml.safe_load_all(done.stdout) if d), key=_identity)
    ours = sorted(render_kustomization(), key=_identity)
    assert [_identity(d) for d in theirs] == [_identity(d) for d in ours]
    for their, our in zip(theirs, ours, strict=True):
        assert their == our, f"{_identity(our)} renders differently from kubectl kustomize"


def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate as validator
    except ImportError:
        pytest.fail(
            "kubernetes-validate is not installed; install it with: pip install "
            "kubernetes-validate  (pyproject's test extras)",
            pytrace=False,
        )
    return validator


#: The oldest Kubernetes these manifests are meant for, and the newest the validator knows.
K8S_VERSIONS = ("1.27.0", None)


@pytest.mark.parametrize("version", K8S_VERSIONS, ids=lambda v: v or "latest")
def test_rendered_objects_pass_kubernetes_validate_strict(version):
    validator = kubernetes_validate()
    version = version or validator.latest_version()
    failures = []
    for doc in render_kustomization():
        try:
            validator.validate(doc, version, strict=True)
        except validator.ValidationError as exc:
            failures.append(f"{'/'.join(_identity(doc))}: {exc.message} at {list(exc.path)}")
    assert not failures, f"kubernetes-validate --strict ({version}):\n" + "\n".join(failures)


def test_kubernetes_validate_strict_does_refuse_an_unknown_field():
    validator = kubernetes_validate()
    (pdb, *_) = [d for d in render_kustomization() if d["kind"] == "PodDisruptionBudget"]
    wrong = {**pdb, "spec": {**pdb["spec"], "maxUnavailabel": 1}}
    with pytest.raises(validator.ValidationError):
        validator.validate(wrong, validator.latest_version(), strict=True)
