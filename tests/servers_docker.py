"""A real Docker engine for the tests: the running one, or a dockerd started (and stopped) here.

No image registry can be reached: the test image is imported (``docker import``) from a root
filesystem made of Debian's ``busybox-static`` (``lucid_sim.containers.busybox_rootfs_tar``,
the same as the sim's image). Every container and network the tests create carries a unique name
prefix and is removed at the end of the session.

``start_docker_sim`` runs ``lucid-sim --docker`` against the session's engine: its
containers have the catalogue's fixed names (``lucid-<service>``), so only one such sim may run
at a time on one engine; the tests that use it are module-scoped and run one after the other.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

# One implementation of the busybox root filesystem, shared with `lucid-sim --docker`.
from lucid_sim.containers import APPLETS, busybox_rootfs_tar, import_image  # noqa: F401 - re-exported

from .conftest import Sim
from .support import SIM, Proc, sim_ports, wait_port, wait_until

DEFAULT_URL = "unix:///var/run/docker.sock"
TEST_SOCKET = "/run/lucid-test-docker.sock"
TEST_BRIDGE = "lucidtst0"
TEST_BRIDGE_ADDR = "10.213.213.1/24"
TEST_POOL = "base=10.214.0.0/16,size=24"
IMAGE = "lucid-test-busybox:latest"


def _answers(url: str) -> bool:
    try:
        c = docker.DockerClient(base_url=url, timeout=5)
    except Exception:
        return False
    try:
        return bool(c.ping())
    except Exception:
        return False
    finally:
        c.close()


@dataclass
class DockerEnv:
    base_url: str
    client: Any
    prefix: str
    image: str = IMAGE
    _networks: list[str] = field(default_factory=list)

    def name(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"

    def run(self, suffix: str, command: list[str] | str, **kwargs: Any) -> Any:
        cmd = ["sh", "-c", command] if isinstance(command, str) else command
        return self.client.containers.run(self.image, cmd, name=self.name(suffix), detach=True, **kwargs)

    def network(self, name: str) -> Any:
        net = self.client.networks.create(name, driver="bridge")
        self._networks.append(net.id)
        return net

    def inspect(self, suffix: str) -> dict[str, Any]:
        return dict(self.client.api.inspect_container(self.name(suffix)))

    def wait_state(self, suffix: str, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = self.inspect(suffix)
            if predicate(last):
                return last
            time.sleep(0.2)
        raise TimeoutError(f"{suffix}: state not reached, last {last.get('State')}")

    def cleanup(self) -> None:
        for c in self.client.containers.list(all=True, filters={"name": self.prefix}):
            if c.name.startswith(self.prefix):
                with contextlib.suppress(Exception):
                    c.remove(force=True)
        for nid in self._networks:
            with contextlib.suppress(Exception):
                self.client.api.remove_network(nid)


def _ip(*args: str) -> None:
    """iproute2, errors ignored (the bridge may be left over from an interrupted run)."""
    subprocess.run(["ip", *args], check=False, capture_output=True, timeout=10)


def stop_engine(proc: Proc) -> None:
    proc.stop(timeout=60)
    _ip("link", "del", TEST_BRIDGE)
    shutil.rmtree(proc.root, ignore_errors=True)  # type: ignore[attr-defined]


def start_engine(tmp: Path) -> tuple[str, Proc | None]:
    """The URL of an answering engine; starts dockerd when none answers (returned to stop it)."""
    # LUCID_TEST_DOCKER_OWN=1 starts a private dockerd even when one answers (to test the CI path).
    if not os.environ.get("LUCID_TEST_DOCKER_OWN"):
        for url in (os.environ.get("LUCID_TEST_DOCKER_HOST", ""), DEFAULT_URL, f"unix://{TEST_SOCKET}"):
            if url and _answers(url):
                return url, None
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd is not installed (scripts/setup.sh installs docker.io)")
    url = f"unix://{TEST_SOCKET}"
    # Not under pytest's tmp: other pytest sessions garbage-collect old tmp dirs, mounts and all.
    root = Path(tempfile.mkdtemp(prefix="lucid-test-dockerd-", dir="/var/tmp"))
    # Its own bridge and address pool: never the host's docker0 (`--bridge=none` would make
    # dockerd delete docker0 under another running engine) nor that engine's subnets.
    _ip("link", "add", "name", TEST_BRIDGE, "type", "bridge")
    _ip("addr", "add", TEST_BRIDGE_ADDR, "dev", TEST_BRIDGE)
    _ip("link", "set", TEST_BRIDGE, "up")
    proc = Proc([dockerd, "--host", url, "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
                 "--pidfile", str(root / "docker.pid"), "--iptables=false", "--ip-masq=false",
                 "--bridge", TEST_BRIDGE, "--default-address-pool", TEST_POOL],
                root / "dockerd.log")
    proc.root = root  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.p.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.p.returncode}:\n{proc.output()[-3000:]}")
        if _answers(url):
            return url, proc
        time.sleep(0.3)
    proc.stop()
    raise RuntimeError(f"dockerd did not answer within 60s:\n{proc.output()[-3000:]}")


_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def docker_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEnv]:
    """The engine for the whole session. Each test module imports this fixture, which makes one
    fixture per module: they share one engine (and one started dockerd) through ``_SHARED``."""
    if not _SHARED:
        url, proc = start_engine(tmp_path_factory.mktemp("dockerd"))
        client = docker.DockerClient(base_url=url, timeout=120)
        import_image(client, IMAGE)
        env = DockerEnv(url, client, prefix=f"lucidtest-{uuid.uuid4().hex[:6]}-")
        _SHARED.update(env=env, proc=proc, users=0)
    _SHARED["users"] += 1
    env = _SHARED["env"]
    try:
        yield env
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            env.cleanup()
            env.client.close()
            proc = _SHARED["proc"]
            _SHARED.clear()
            if proc is not None:
                stop_engine(proc)


# --- running probes in-process ------------------------------------------------------------------


async def run_probe(probe: Any, settings: Any, timeout: float = 60.0) -> list[Any]:
    """One run of a probe with a real ProbeContext (what the engine does, minus the cache)."""
    import aiohttp

    from lucid_exporter.probes.base import ProbeContext

    async with aiohttp.ClientSession() as http:
        ctx = ProbeContext(http, settings, deadline=time.monotonic() + timeout)
        return list(await probe.run(ctx))


def val(samples: list[Any], metric: str, /, **labels: str) -> float | None:
    """The value of the one sample of ``metric`` whose labels include ``labels`` (None: absent)."""
    found = [s.value for s in samples if s.name == metric and labels.items() <= dict(s.labels).items()]
    if len(found) > 1:
        raise AssertionError(f"{metric}{labels} matches {len(found)} samples")
    return found[0] if found else None


# --- the simulated stack with its containers ----------------------------------------------------


def start_docker_sim(tmp: Path, env: DockerEnv, *faults: str, wait_other: float = 300.0,
                     host: str = "127.0.0.1") -> Sim:
    """``lucid-sim --docker`` on the session's engine; returns once its containers run
    (the sim writes its config only then). Stop it with ``sim.proc.stop(timeout=60)``: it removes
    its containers on the way out. While another docker sim owns the engine's Lucid containers
    (another test session on the same engine), waits up to ``wait_other`` seconds for it to end.
    ``host``: the address its services and control port listen on (a container reaches the host
    at its network's gateway address)."""
    deadline = time.monotonic() + wait_other
    while True:
        sim = _start_docker_sim(tmp, env, faults, host)
        if isinstance(sim, Sim):
            return sim
        if "another sim" not in sim or time.monotonic() > deadline:
            raise RuntimeError(f"the docker sim did not start:\n{sim[-2000:]}")
        time.sleep(2)


def _start_docker_sim(tmp: Path, env: DockerEnv, faults: tuple[str, ...], host: str) -> Sim | str:
    base, control = sim_ports()
    cfg = tmp / "sim-exporter.yml"
    cfg.unlink(missing_ok=True)
    args = [*SIM, "--docker", "--docker-url", env.base_url, "--base-port", str(base),
            "--control-port", str(control), "--write-config", str(cfg), "--host", host]
    for f in faults:
        args += ["--fault", f]
    proc = Proc(args, tmp / "sim.log")
    try:
        wait_until(lambda: (cfg.exists() and cfg.stat().st_size > 0) or proc.p.poll() is not None,
                   timeout=120, interval=0.2, what="sim containers running and config written")
        if proc.p.poll() is not None:
            proc.stop()
            return proc.output()
        wait_port(control, host=host, proc=proc.p)
    except BaseException:
        proc.stop(timeout=60)
        raise
    return Sim(proc, f"http://{host}:{control}", yaml.safe_load(cfg.read_text()), cfg)
