"""``serve`` imports only what its enabled probes need: a disabled source costs no import of its
client library (start-up time and memory), the simulator is never imported, nor is
prometheus_client's exposition (the exporter writes its own; see collector.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from ..support import ROOT, free_port

SERVE_UNTIL_READY = """
import json, os, signal, sys, threading, time, urllib.request
from lucid_exporter.cli import main

def stop_when_ready():
    for _ in range(600):
        try:
            if urllib.request.urlopen(sys.argv[2] + "/-/ready", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=stop_when_ready, daemon=True).start()
code = main(["serve", "--config", sys.argv[1], "--web.listen-address", sys.argv[2].split("//")[1],
             "--log.level", "error"])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

CLIENT_LIBRARIES = {"redis": "redis", "mongodb": "pymongo", "docker": "docker"}
NEVER = ("elasticsearch", "elastic_transport", "lucid_sim", "prometheus_client", "bcrypt")


def serve_modules(tmp_path: Path, config: dict[str, object]) -> set[str]:
    """The modules a real ``serve`` has imported once it is ready, with this config."""
    path = tmp_path / "lucid.yml"
    path.write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run([sys.executable, "-c", SERVE_UNTIL_READY, str(path), url], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    reply = json.loads(out.stdout.strip().splitlines()[-1])
    assert reply["code"] == 0
    return set(reply["modules"])


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_serve_with_the_stores_and_docker_off_imports_none_of_their_clients(tmp_path: Path) -> None:
    off = {section: {"enabled": False} for section in ("redis", "mongodb", "elasticsearch", "docker", "logs")}
    # Nothing listens at these addresses: the probes that stay on fail, quickly, and that is fine here.
    config = {**off, "network": {"enabled": False}, "status": {"enabled": False},
              "services": {"auth-service": {"url": "http://127.0.0.1:9"}}}
    top = _top(serve_modules(tmp_path, config))
    for library in [*CLIENT_LIBRARIES.values(), *NEVER]:
        assert library not in top, f"{library} imported by serve with its probe off"


def test_serve_with_redis_on_imports_redis_and_still_not_the_others(tmp_path: Path) -> None:
    config = {"redis": {"address": "127.0.0.1:9", "connect_timeout_seconds": 0.2},
              "mongodb": {"enabled": False}, "elasticsearch": {"url": "http://127.0.0.1:9"},
              "docker": {"enabled": False}, "logs": {"enabled": False}, "network": {"enabled": False},
              "status": {"enabled": False}, "probes": {"timeout_seconds": 1}}
    top = _top(serve_modules(tmp_path, config))
    assert "redis" in top
    for library in ("pymongo", "docker", *NEVER):
        assert library not in top, f"{library} imported by serve with its probe off"
