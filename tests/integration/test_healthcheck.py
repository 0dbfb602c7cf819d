"""`lucid-exporter healthcheck`, the image's HEALTHCHECK, against a real exporter process: it reads
the config serve reads and passes with basic auth on and with TLS on (issue 13 item 5), and fails
with one line when nothing healthy answers. Docker reserves exit code 2: every failure is 1."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import yaml

from ..conftest import Exporter, start_exporter
from ..support import EXPORTER, free_port

pytestmark = pytest.mark.integration

PASSWORD = "healthcheck-test-pass-9Xk"
# No service to probe: the health endpoint does not depend on them.
NO_SERVICES = {"mongodb": {"enabled": False}, "redis": {"enabled": False}, "elasticsearch": {"enabled": False},
               "docker": {"enabled": False}, "logs": {"enabled": False}, "status": {"enabled": False},
               "host": {"enabled": False}, "network": {"enabled": False}}


def healthcheck(config: Path, address: str, *extra: str, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    # The address as a user would override it for both serve and healthcheck: by environment.
    return subprocess.run([*EXPORTER, "healthcheck", "--config", str(config), *extra], capture_output=True, text=True,
                          timeout=30, env={**_environ(), "LUCID_EXPORTER_WEB__LISTEN_ADDRESS": address, **(env or {})},
                          check=False)


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("LUCID_EXPORTER_")}


def _serve(tmp: Path, web: dict[str, object], name: str) -> tuple[Exporter, Path, str]:
    config = {**NO_SERVICES, "services": {}, "web": web}
    exp = start_exporter(tmp, config, name=name)
    path = tmp / f"{name}.yml"  # start_exporter's copy, as the container mounts it
    assert yaml.safe_load(path.read_text())["web"] == web
    return exp, path, exp.url.removeprefix("http://")


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    exp, path, address = _serve(tmp_path, {}, "plain")
    yield path, address
    exp.proc.stop()


@pytest.fixture
def with_auth(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    users = {"prometheus": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()}
    exp, path, address = _serve(tmp_path, {"basic_auth_users": users}, "auth")
    yield path, address
    exp.proc.stop()


def test_healthy_exporter_passes(plain: tuple[Path, str]) -> None:
    config, address = plain
    done = healthcheck(config, address)
    assert done.returncode == 0, done
    assert done.stdout.strip() == f"healthy: http://{address}/-/healthy: HTTP 200"


def test_with_basic_auth_on_it_passes_without_a_password(with_auth: tuple[Path, str]) -> None:
    """/-/healthy is open under basic auth (like Prometheus' own), so the image holds no password."""
    config, address = with_auth
    done = healthcheck(config, address)
    assert done.returncode == 0, done
    assert done.stdout.strip() == f"healthy: http://{address}/-/healthy: HTTP 200"


def test_with_tls_it_probes_over_https(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=lucid-exporter", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    exp, config, address = _serve(tmp_path, {"tls_cert_file": str(cert), "tls_key_file": str(key)}, "tls")
    try:
        done = healthcheck(config, address)
        assert done.returncode == 0, done
        assert done.stdout.strip() == f"healthy: https://{address}/-/healthy: HTTP 200"
    finally:
        exp.proc.stop()


def test_nothing_listening_fails_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(NO_SERVICES))
    address = f"127.0.0.1:{free_port()}"
    done = healthcheck(config, address)
    assert done.returncode == 1, done
    assert done.stdout.startswith(f"unhealthy: http://{address}/-/healthy: ") and done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_listening_on_all_addresses_it_probes_the_loopback(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(NO_SERVICES))
    port = free_port()
    done = healthcheck(config, f":{port}")
    assert done.returncode == 1
    assert done.stdout.startswith(f"unhealthy: http://127.0.0.1:{port}/-/healthy")


def test_a_config_error_exits_1_not_2(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("web: {listen_adress: ':1'}\n")
    done = subprocess.run([*EXPORTER, "healthcheck", "--config", str(config)], capture_output=True, text=True,
                          timeout=30, env=_environ(), check=False)
    assert done.returncode == 1, done
    assert "config error" in done.stderr and "listen_adress" in done.stderr
