"""Inter-service reachability: the guide's ``nslookup lucid-mongodb`` and ``netstat -tuln | grep
13389``, seen from the exporter (a sidecar on the same compose network as the services)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from ..config import NetworkConfig, Settings
from ..engine import Probe, ProbeContext
from ..inventory import Service
from ..metrics import Sample, gauge


class DnsProbe(Probe):
    kind = "dns"
    target = "catalogue"

    def __init__(self, cfg: NetworkConfig, names: list[str]) -> None:
        self.cfg = cfg
        self.names = names

    async def _one(self, name: str) -> list[Sample]:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        ok = 1
        try:
            await asyncio.wait_for(loop.getaddrinfo(name, None, type=socket.SOCK_STREAM),
                                   timeout=self.cfg.timeout_seconds)
        except (OSError, TimeoutError):
            ok = 0
        # Sample, not gauge(): the label is called "name", like gauge()'s first parameter.
        return [Sample("lucid_dns_resolves", ok, {"name": name}, "1 when the name resolves (nslookup)"),
                Sample("lucid_dns_resolution_seconds", time.monotonic() - start, {"name": name},
                       "Time to resolve the name (or to fail)")]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        results = await asyncio.gather(*(self._one(n) for n in self.names))
        return [s for r in results for s in r]


class TcpProbe(Probe):
    kind = "tcp"
    target = "ports"

    def __init__(self, cfg: NetworkConfig) -> None:
        self.cfg = cfg

    async def _one(self, target: str) -> list[Sample]:
        host, _, port = target.rpartition(":")
        start = time.monotonic()
        ok = 1
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)),
                                               timeout=self.cfg.timeout_seconds)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            ok = 0
        return [gauge("lucid_tcp_connect_success", ok, "1 when a TCP connection to the target succeeds",
                      target=target),
                gauge("lucid_tcp_connect_seconds", time.monotonic() - start,
                      "Time to connect (or to fail)", target=target)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        results = await asyncio.gather(*(self._one(t) for t in self.cfg.tcp_targets))
        return [s for r in results for s in r]


def dns_names(cfg: NetworkConfig, services: dict[str, Service]) -> list[str]:
    return sorted({s.host for s in services.values() if s.host} | set(cfg.extra_dns_names))


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    cfg = settings.network
    if not cfg.enabled:
        return []
    probes: list[Probe] = []
    names = dns_names(cfg, services)
    if cfg.dns and names:
        probes.append(DnsProbe(cfg, names))
    if cfg.tcp_targets:
        probes.append(TcpProbe(cfg))
    return probes
