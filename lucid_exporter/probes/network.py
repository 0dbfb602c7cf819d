"""Inter-service reachability: the guide's ``nslookup lucid-mongodb``, ``curl http://lucid-mongodb:27017``
and ``netstat -tuln | grep 13389``, seen from the exporter (a sidecar on the same compose network as the
services)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from ..config import NetworkConfig, Settings
from ..inventory import Service
from ..metrics import Sample, gauge
from .base import Probe, ProbeContext


class DnsProbe(Probe):
    kind = "dns"
    target = "catalogue"

    def __init__(self, cfg: NetworkConfig, names: list[str]) -> None:
        self.cfg = cfg
        self.names = names
        # Its own threads: a name server that never answers keeps a getaddrinfo() thread for
        # its whole retry cycle, and that must not starve the lookups of the other probes.
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: dict[str, asyncio.Future[object]] = {}

    def _lookup(self, name: str) -> asyncio.Future[object]:
        """One lookup per name at a time: a hanging name is waited for again, not asked again."""
        fut = self._in_flight.get(name)
        if fut is None or fut.done():
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")
            fut = asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: socket.getaddrinfo(name, None, type=socket.SOCK_STREAM))
            # Retrieved here: a lookup that outlived its scrape must not log "never retrieved".
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._in_flight[name] = fut
        return fut

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _one(self, name: str, timeout: float) -> list[Sample]:
        start = time.monotonic()
        ok = 1
        try:
            await asyncio.wait_for(asyncio.shield(self._lookup(name)), timeout=timeout)
        except (OSError, TimeoutError):
            ok = 0
        # Sample, not gauge(): the label is called "name", like gauge()'s first parameter.
        return [Sample("lucid_dns_resolves", ok, {"name": name}, "1 when the name resolves (nslookup)"),
                Sample("lucid_dns_resolution_seconds", time.monotonic() - start, {"name": name},
                       "Time to resolve the name (or to fail)")]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        timeout = per_item_timeout(self.cfg, ctx)
        results = await asyncio.gather(*(self._one(n, timeout) for n in self.names))
        return [s for r in results for s in r]


def target_services(targets: list[str], services: dict[str, Service]) -> dict[str, str]:
    """host:port -> the service listening there (by its configured address), for the targets that
    are a service's: their alert stays silent while that service's own down alert pages."""
    by_address = {f"{s.host}:{s.port}": s.name for s in services.values() if s.host and s.port}
    return {t: by_address[t] for t in targets if t in by_address}


class TcpProbe(Probe):
    kind = "tcp"
    target = "ports"

    def __init__(self, cfg: NetworkConfig, services: dict[str, Service] | None = None) -> None:
        self.cfg = cfg
        self.services = target_services(cfg.tcp_targets, services or {})

    async def _one(self, target: str, timeout: float) -> list[Sample]:
        lbl = {"target": target}
        if target in self.services:
            lbl["service"] = self.services[target]
        host, _, port = target.rpartition(":")
        start = time.monotonic()
        ok = 1
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)),
                                               timeout=timeout)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            ok = 0
        return [gauge("lucid_tcp_connect_success", ok, "1 when a TCP connection to the target succeeds", **lbl),
                gauge("lucid_tcp_connect_seconds", time.monotonic() - start, "Time to connect (or to fail)", **lbl)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        timeout = per_item_timeout(self.cfg, ctx)
        results = await asyncio.gather(*(self._one(t, timeout) for t in self.cfg.tcp_targets))
        return [s for r in results for s in r]


def per_item_timeout(cfg: NetworkConfig, ctx: ProbeContext) -> float:
    """Each name or port gives up before the probe does, so that it reports 0 instead of the
    whole probe timing out."""
    return max(0.05, min(cfg.timeout_seconds, ctx.remaining() - 0.2))


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
        probes.append(TcpProbe(cfg, services))
    return probes
