"""The exporter image, built and run as the sidecar of the design.

The image is built on the test engine from wheels made on the host (scripts/build_image.sh) on a
Debian bookworm base made from Debian packages (scripts/build_base_image.sh: debootstrap +
``docker import``; no registry is reached). It runs next to the sim's Lucid containers on
``lucid-network`` with the engine's socket mounted read-only; the sim's HTTP services listen on
that network's gateway address, where a container reaches its host.

Run under the shared docker lock: ``flock /tmp/lucid-docker.lock .venv/bin/python -m pytest ...``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import docker.errors
import pytest
import yaml

from ..conftest import Sim
from ..servers_docker import DockerEnv, docker_env, start_docker_sim  # noqa: F401 - fixture
from ..support import ROOT, free_port, http_get, parse_metrics, value, wait_until

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.image, pytest.mark.xdist_group("docker")]

BASE_TAG = "lucid-exporter-base:bookworm"
TAG = "lucid-exporter:latest"  # what docker-compose.example.yml runs
NETWORK = "lucid-network"
CONFIG_PATH = "/etc/lucid-exporter/config.yml"
HEALTHCHECK_TEST = ["CMD", "lucid-exporter", "healthcheck", "--config", CONFIG_PATH]
SECOND = 1_000_000_000  # docker's durations are in nanoseconds


def _run(args: list[str], env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{args[0]} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stderr


@pytest.fixture(scope="module")
def image(docker_env: DockerEnv) -> str:  # noqa: F811
    env = {**os.environ, "DOCKER_HOST": docker_env.base_url}
    started = time.monotonic()
    _run(["scripts/build_base_image.sh", BASE_TAG], env)
    based = time.monotonic()
    report = _run(["scripts/build_image.sh", "--base", BASE_TAG, "--tag", TAG], env)
    print(f"\nbase image {based - started:.0f} s, exporter image {time.monotonic() - based:.0f} s: "
          f"{report.strip().splitlines()[-1]}")
    return TAG


@dataclass
class Stack:
    """The sim's stack as the sidecar sees it from its container."""

    env: DockerEnv
    sim: Sim
    config: dict[str, Any]  # the exporter config for a container on lucid-network
    tmp: Path
    socket: str  # the engine's socket on the host
    socket_gid: int

    def run_exporter(self, image: str, suffix: str, config: dict[str, Any], environment: dict[str, str] | None = None,
                     files: dict[str, str] | None = None) -> tuple[Any, str]:
        """The image as the compose example runs it: on lucid-network, docker socket read-only,
        data read-only, member of the socket's group. Health checked every second."""
        cfg = self.tmp / f"{suffix}.yml"
        cfg.write_text(yaml.safe_dump(config))
        volumes = {self.socket: {"bind": "/var/run/docker.sock", "mode": "ro"},
                   str(cfg): {"bind": CONFIG_PATH, "mode": "ro"}}
        for path in config["host"]["paths"]:
            volumes[path] = {"bind": path, "mode": "ro"}
        for inside, content in (files or {}).items():
            host_file = self.tmp / f"{suffix}-{Path(inside).name}"
            host_file.write_text(content)
            volumes[str(host_file)] = {"bind": inside, "mode": "ro"}
        port = free_port()
        container = self.env.client.containers.run(
            image, name=self.env.name(suffix), detach=True, network=NETWORK, volumes=volumes,
            group_add=[str(self.socket_gid)], ports={"10097/tcp": ("127.0.0.1", port)}, environment=environment or {},
            # The image's HEALTHCHECK command, checked every second instead of every 30 s.
            healthcheck={"interval": SECOND, "start_period": 30 * SECOND})
        return container, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def stack(docker_env: DockerEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("image")
    client = docker_env.client
    found = [n for n in client.networks.list(names=[NETWORK]) if n.name == NETWORK]
    # Made here, before the sim (which then joins it), to know its gateway: the sim listens there.
    created = None if found else client.networks.create(NETWORK, driver="bridge")
    network = found[0] if found else created
    network.reload()
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    sim = None
    try:
        sim = start_docker_sim(tmp, docker_env, host=gateway)
        config = copy.deepcopy(sim.config)
        config["docker"]["base_url"] = "unix:///var/run/docker.sock"
        # The sim's RDP ports listen on a loopback address of the host, out of a container's reach.
        config["network"] = {"tcp_targets": []}
        socket = docker_env.base_url.removeprefix("unix://")
        yield Stack(docker_env, sim, config, tmp, socket, os.stat(socket).st_gid)
    finally:
        for suffix in ("sidecar", "sidecar-auth"):  # this module's containers, before their network
            with contextlib.suppress(docker.errors.NotFound):
                client.containers.get(docker_env.name(suffix)).remove(force=True)
        if sim is not None:
            sim.proc.stop(timeout=60)
        if created is not None:
            created.remove()


@pytest.fixture(scope="module")
def sidecar(image: str, stack: Stack) -> tuple[Any, str]:
    container, url = stack.run_exporter(image, "sidecar", stack.config)
    _wait_healthy(container)
    return container, url


def _wait_healthy(container: Any) -> dict[str, Any]:
    def health() -> dict[str, Any] | None:
        container.reload()
        state = container.attrs["State"]
        assert state["Status"] == "running", f"{container.name} {state}: {container.logs(tail=20).decode()}"
        return state["Health"] if state["Health"]["Status"] == "healthy" else None

    return wait_until(health, timeout=90, interval=0.5, what=f"{container.name} healthy")  # type: ignore[no-any-return]


def test_the_image_runs_as_a_non_root_user(sidecar: tuple[Any, str]) -> None:
    container, _ = sidecar
    assert container.attrs["Config"]["User"] == "lucid"
    code, out = container.exec_run(["python3", "-c", "import os; print(os.getuid(), os.getgid())"])
    assert code == 0, out
    uid, gid = map(int, out.split())
    assert uid == 10097 and uid != 0 and gid != 0


def test_its_healthcheck_reports_healthy(sidecar: tuple[Any, str]) -> None:
    container, _ = sidecar
    assert container.attrs["Config"]["Healthcheck"]["Test"] == HEALTHCHECK_TEST, "the Dockerfile's HEALTHCHECK"
    last = container.attrs["State"]["Health"]["Log"][-1]
    assert last["ExitCode"] == 0 and last["Output"].startswith("healthy: http://127.0.0.1:10097/-/healthy"), last


def test_metrics_serve_the_stack_it_sits_in(sidecar: tuple[Any, str], stack: Stack) -> None:
    container, url = sidecar
    http_services = [name for name, svc in stack.config["services"].items() if svc["url"].startswith("http")]

    def all_up() -> bool:
        status, body = http_get(f"{url}/metrics")
        series = parse_metrics(body) if status == 200 else {}
        return all(value(series, "lucid_service_up", service=s) == 1 for s in http_services) and \
            value(series, "lucid_container_running", container="lucid-auth-service") == 1

    # Every HTTP service of the sim up through lucid-network's gateway; the sim's containers seen
    # through the read-only docker socket.
    wait_until(all_up, timeout=60, interval=1, what="the stack's services and containers in /metrics")
    mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
    assert mounts["/var/run/docker.sock"]["RW"] is False
    assert NETWORK in container.attrs["NetworkSettings"]["Networks"]


def test_its_healthcheck_reports_healthy_with_basic_auth_on(image: str, stack: Stack) -> None:
    password = "image-test-pass-7Qz"
    config = copy.deepcopy(stack.config)
    config["web"] = {"basic_auth_users": {"prometheus": bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()}}
    container, url = stack.run_exporter(image, "sidecar-auth", config)
    health = _wait_healthy(container)
    # /-/healthy is open (like Prometheus' own): the image holds no password for its HEALTHCHECK.
    assert health["Log"][-1]["Output"].startswith("healthy: http://127.0.0.1:10097/-/healthy"), health["Log"][-1]
    assert http_get(f"{url}/metrics")[0] == 401, "basic auth is on"
    token = "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()
    assert http_get(f"{url}/metrics", headers={"Authorization": token})[0] == 200


IMAGE_CONTENTS = r"""
import importlib.metadata, importlib.util, json, os
paths = []
for d, dirs, files in os.walk("/"):
    dirs[:] = [x for x in dirs if os.path.join(d, x) not in ("/proc", "/sys", "/dev")]
    paths += [os.path.join(d, f) for f in files]
print(json.dumps({
    "modules": {m: importlib.util.find_spec(m) is not None for m in ("lucid_exporter", "lucid_sim", "tests")},
    "exporter_files": [str(f) for f in importlib.metadata.files("lucid-exporter")],
    "paths": paths,
}))
"""


def test_the_image_holds_no_simulator_and_no_tests(image: str, stack: Stack) -> None:
    out = stack.env.client.containers.run(image, ["-c", IMAGE_CONTENTS], entrypoint="python3", remove=True,
                                          name=stack.env.name("contents"))
    contents = json.loads(out)
    assert contents["modules"] == {"lucid_exporter": True, "lucid_sim": False, "tests": False}, contents["modules"]
    assert not [f for f in contents["exporter_files"] if "/sim/" in f or "test" in f.lower()]
    # Not one of this repository's test files or simulator modules, anywhere in the image (the
    # dependencies' own tests, such as certifi's, are theirs).
    ours = [f"/{p.relative_to(ROOT)}" for p in (ROOT / "tests").rglob("*") if p.is_file() and p.suffix != ".pyc"
            and p.name != "__init__.py"]
    ours += [f"/{p.relative_to(ROOT)}" for p in ROOT.glob("*sim*/**/*.py")]
    found = [p for p in contents["paths"] if p.endswith(tuple(ours)) or "/lucid_sim/" in p
             or "/lucid_exporter/sim/" in p]
    assert not found, found
    assert any(p.endswith("/lucid_exporter/cli.py") for p in contents["paths"]), "the walk saw the exporter"


def test_the_compose_example_is_valid_and_comes_up(image: str, stack: Stack) -> None:
    compose = shutil.which("docker-compose")
    assert compose, "Debian's docker-compose (scripts/setup.sh installs it)"
    env = {**os.environ, "DOCKER_HOST": stack.env.base_url, "DOCKER_GID": str(stack.socket_gid)}
    _run([compose, "-f", "docker-compose.example.yml", "config", "--quiet"], env)
    # The shipped file and config, copied beside their relative paths (deploy/, secrets/), with
    # this engine's socket, a free port on the loopback and a scratch backups directory.
    project = stack.tmp / "compose"
    (project / "deploy").mkdir(parents=True)
    (project / "secrets").mkdir()
    (project / "backups").mkdir()
    shutil.copy(ROOT / "deploy" / "lucid-exporter.yml", project / "deploy" / "lucid-exporter.yml")
    for name in ("redis_password", "mongodb_password"):
        (project / "secrets" / name).write_text("compose-test-secret\n")
    port = free_port()
    text = (ROOT / "docker-compose.example.yml").read_text()
    for old, new in (('"10097:10097"', f'"127.0.0.1:{port}:10097"'),
                     ("/var/run/docker.sock:/var/run/docker.sock:ro", f"{stack.socket}:/var/run/docker.sock:ro"),
                     ("/opt/lucid/backups:/opt/lucid/backups:ro", f"{project / 'backups'}:/opt/lucid/backups:ro")):
        assert old in text, old
        text = text.replace(old, new)
    (project / "docker-compose.yml").write_text(text)
    existing = [v for v in stack.env.client.volumes.list(filters={"name": "lucid-data"}) if v.name == "lucid-data"]
    # The compose file's external data volume: made here unless the engine has one (then only read).
    volume = None if existing else stack.env.client.volumes.create("lucid-data")
    up = [compose, "-p", stack.env.name("compose").rstrip("-"), "-f", str(project / "docker-compose.yml")]
    try:
        _run([*up, "up", "--detach", "--no-build", "lucid-exporter"], env)
        container = stack.env.client.containers.get("lucid-exporter")
        assert TAG in container.image.tags
        # (Its health is checked every 30 s as shipped: the tests above cover the HEALTHCHECK.)

        def scraped() -> bool:
            try:  # docker's proxy takes the connection before the exporter listens, then drops it
                series = parse_metrics(http_get(f"http://127.0.0.1:{port}/metrics")[1])
            except OSError:
                return False
            # The shipped config, the sim's containers through the socket.
            return value(series, "lucid_container_running", container="lucid-auth-service") == 1

        wait_until(scraped, timeout=60, interval=1, what="the compose sidecar sees the Lucid containers")
    finally:
        subprocess.run([*up, "down", "--timeout", "5"], cwd=ROOT, env=env, capture_output=True, timeout=120,
                       check=False)
        if volume is not None:
            volume.remove(force=True)
