"""Fixtures shared by all test modules: the simulated stack and the exporter as real processes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .support import EXPORTER, SIM, Proc, free_port, http_send, sim_ports, wait_port, wait_until


@dataclass
class Sim:
    proc: Proc
    control: str
    config: dict  # type: ignore[type-arg]
    config_path: Path
    profile: str = "guide"

    def fault(self, service: str, kind: str) -> None:
        status, body = http_send(f"{self.control}/faults/{service}/{kind}", "PUT")
        assert status == 200, body

    def clear(self, service: str | None = None) -> None:
        url = f"{self.control}/faults" + (f"/{service}" if service else "")
        status, body = http_send(url, "DELETE")
        assert status == 200, body

    def refuses(self, service: str, kind: str) -> str:
        """PUT a fault the running personality cannot express: the sim answers 400 and sets nothing.
        Returns its one-line reason (``KIND on SERVICE: why``)."""
        status, body = http_send(f"{self.control}/faults/{service}/{kind}", "PUT")
        assert status == 400, body
        error = str(json.loads(body)["error"])
        assert "\n" not in error
        assert not json.loads(http_send(f"{self.control}/faults", "GET")[1]).get(service)  # nothing was set
        return error

    def advance(self, seconds: float) -> None:
        """Make ``seconds`` of the sim's life pass at once (its blocks, sessions, samples, fault
        durations), instead of sleeping for them."""
        status, body = http_send(f"{self.control}/clock/advance?seconds={seconds}", "POST")
        assert status == 200, body

    @property
    def lucid(self) -> bool:
        """True under the ``lucid`` personality (and so the exporter's ``lucid`` API profile)."""
        return self.profile == "lucid"


# The sim's personalities: the guide's examples, the real Lucid code. Each is paired with the exporter's
# API profile of the same name: the config the sim writes says ``status.profile`` (guide by default).
PROFILES = ("guide", "lucid")


def start_sim(tmp: Path, *faults: str, profile: str = "guide", args: Sequence[str] = ()) -> Sim:
    """The sim answering as ``profile`` (``guide``: the troubleshooting guide's examples; ``lucid``: the
    real Lucid code, see sim/lucid_sim/real/), with ``faults`` (``SERVICE=KIND``) from the start and
    further command-line ``args`` (``--slot-seconds``, ``--token-ttl``)."""
    cfg = tmp / "sim-exporter.yml"
    for attempt in range(3):
        base, control = sim_ports()
        cmd = [*SIM, "--profile", profile, "--base-port", str(base), "--control-port", str(control),
               "--write-config", str(cfg), *args]
        for f in faults:
            cmd += ["--fault", f]
        proc = Proc(cmd, tmp / "sim.log")
        if _config_written(proc, cfg):
            return Sim(proc, f"http://127.0.0.1:{control}", yaml.safe_load(cfg.read_text()), cfg, profile)
        # The sim exits when one of its ports was taken (by another process, after sim_ports found them
        # free): then again on other ports.
        proc.stop()
        if "cannot listen" not in proc.output() or attempt == 2:
            raise RuntimeError(f"lucid-sim exited with {proc.p.returncode}: {proc.output()[-500:]}")
    raise AssertionError("unreachable")


def _config_written(proc: Proc, cfg: Path) -> bool:
    """Wait for the sim's config (written once every listener is up): True, or False if the sim exited."""
    wait_until(lambda: proc.p.poll() is not None or (cfg.exists() and cfg.stat().st_size > 0),
               what="sim config written")
    return proc.p.poll() is None


@dataclass
class Exporter:
    proc: Proc
    url: str

    def log(self) -> str:
        return self.proc.output()


def start_exporter(tmp: Path, config: dict, name: str = "exporter", env: dict[str, str] | None = None) -> Exporter:  # type: ignore[type-arg]
    port = free_port()
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(config))
    proc = Proc([*EXPORTER, "serve", "--config", str(path), "--web.listen-address", f"127.0.0.1:{port}"],
                tmp / f"{name}.log", env=env)
    wait_port(port, proc=proc.p)
    return Exporter(proc, f"http://127.0.0.1:{port}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration is marked integration, under tests/e2e e2e (``-m`` selects).

    Tests that use the docker engine must share one group for pytest-xdist (``--dist loadgroup``):
    the sim's containers have the catalogue's fixed names and the engine has one socket, so one
    worker runs them all, one after the other, while the other workers run the rest. The group is a
    module mark (``pytestmark``), written where the module is: xdist reads it before a hook could
    add it; a module that forgets it is stopped here."""
    for item in items:
        parts = item.path.parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        elif "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if "docker_env" in getattr(item, "fixturenames", ()):
            groups = [m.args[0] if m.args else m.kwargs.get("name") for m in item.iter_markers("xdist_group")]
            if groups != ["docker"]:
                raise pytest.UsageError(f"{item.nodeid} uses the docker engine: its module needs "
                                        'pytestmark = [..., pytest.mark.xdist_group("docker")]')


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    s = start_sim(tmp_path_factory.mktemp("sim"))
    yield s
    s.proc.stop()


@pytest.fixture(scope="module", params=PROFILES)
def sim_any(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """The sim under each personality in turn (``sim_any.profile``): a test that takes it runs against the
    guide's examples and against the real code's answers."""
    s = start_sim(tmp_path_factory.mktemp(f"sim-{request.param}"), profile=request.param)
    yield s
    s.proc.stop()
