"""Inter-Service Communication Failures: `nslookup lucid-mongodb` and `netstat -tuln | grep 13389`
as DNS and TCP probes, against real sockets on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from lucid_exporter.config import Settings
from lucid_exporter.inventory import Service
from lucid_exporter.probes.network import DnsProbe, TcpProbe, build, dns_names

from ..servers_docker import run_probe, val
from ..support import free_port

pytestmark = pytest.mark.integration


async def test_dns_resolution_failure_of_a_service_name_is_zero() -> None:
    settings = Settings(network={"extra_dns_names": ["localhost", "lucid-mongodb.invalid"]})  # type: ignore[arg-type]
    probe = DnsProbe(settings.network, dns_names(settings.network, {}))
    s = await run_probe(probe, settings)
    assert val(s, "lucid_dns_resolves", name="localhost") == 1
    assert val(s, "lucid_dns_resolves", name="lucid-mongodb.invalid") == 0
    assert val(s, "lucid_dns_resolution_seconds", name="localhost") >= 0  # type: ignore[operator]


def test_every_catalogue_host_is_resolved() -> None:
    services = {"mongodb": Service("mongodb", "foundation", "lucid-mongodb", "tcp://lucid-mongodb:27017", "", "tcp"),
                "rate-limiter": Service("rate-limiter", "gateway", "lucid-rate-limiter", "", "", "none")}
    assert dns_names(Settings().network, services) == ["lucid-mongodb"]
    kinds = {p.kind for p in build(Settings(), services)}
    assert kinds == {"dns", "tcp"}


async def test_rdp_port_listening_and_not_listening() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        up = f"127.0.0.1:{listener.getsockname()[1]}"
        down = f"127.0.0.1:{free_port()}"
        settings = Settings(network={"tcp_targets": [up, down]})  # type: ignore[arg-type]
        s = await run_probe(TcpProbe(settings.network), settings)
    assert val(s, "lucid_tcp_connect_success", target=up) == 1
    assert val(s, "lucid_tcp_connect_success", target=down) == 0
    assert val(s, "lucid_tcp_connect_seconds", target=up) >= 0  # type: ignore[operator]


def test_default_tcp_targets_are_the_guides_inter_service_checks_and_rdp_ports() -> None:
    """The guide tests lucid-mongodb:27017 and lucid-redis:6379 for inter-service communication:
    those are what LucidTCPConnectFailing reads (the RDP ports have LucidRDPPortUnreachable)."""
    assert Settings().network.tcp_targets == ["lucid-mongodb:27017", "lucid-redis:6379", "lucid-xrdp:13389",
                                              "lucid-xrdp:14389"]
    with pytest.raises(ValueError):
        Settings(network={"tcp_targets": ["no-port"]})  # type: ignore[arg-type]


async def test_a_target_that_is_a_services_address_carries_its_service() -> None:
    """So that the TCP alert stays silent while that service's own down alert pages (one page)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        other = f"127.0.0.1:{free_port()}"
        services = {"redis": Service("redis", "foundation", "lucid-redis", f"tcp://127.0.0.1:{port}", "", "tcp")}
        settings = Settings(network={"tcp_targets": [f"127.0.0.1:{port}", other]})  # type: ignore[arg-type]
        s = await run_probe(TcpProbe(settings.network, services), settings)
    assert val(s, "lucid_tcp_connect_success", target=f"127.0.0.1:{port}", service="redis") == 1
    samples = [x for x in s if x.name == "lucid_tcp_connect_success" and x.labels["target"] == other]
    assert len(samples) == 1 and "service" not in samples[0].labels and samples[0].value == 0
