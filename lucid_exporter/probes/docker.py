"""The docker engine: the guide's ``docker ps``, ``docker stats --no-stream``, ``docker network
inspect`` and ``docker system df``, as metrics.

The docker SDK is synchronous: every call runs in a small, bounded thread pool owned by one
``DockerAccess`` (one long-lived ``DockerClient``, shared by the docker and log probes of the
same engine). Read-only: containers are listed, inspected and their stats read; nothing is
exec'd and no container environment is ever read.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..config import DockerConfig, Settings
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, gauge, one_hot
from ..urls import SecretURL
from .base import Probe, ProbeContext

T = TypeVar("T")

HEALTH_STATES: tuple[str, ...] = ("healthy", "unhealthy", "starting", "none")
DISK_TYPES: tuple[str, ...] = ("images", "containers", "volumes", "build_cache")


# ---------------------------------------------------------------------------------------------
# Pure helpers


def parse_docker_time(text: str | None) -> float:
    """Docker's RFC 3339 timestamps (nanoseconds, ``Z`` or offset) -> Unix seconds; 0 for unset."""
    if not text or text.startswith("0001-01-01"):
        return 0.0
    s = text.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    main, dot, rest = s.partition(".")
    frac = 0.0
    if dot:
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        frac = float("0." + digits) if digits else 0.0
        s = main + rest[i:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return 0.0
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp() + frac


def container_name(summary: dict[str, Any]) -> str:
    names = summary.get("Names") or []
    return str(names[0]).lstrip("/") if names else str(summary.get("Id", ""))[:12]


def select_containers(listing: Iterable[dict[str, Any]], expected: Iterable[str],
                      patterns: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Which containers to watch: every expected name (None when it does not exist) and every
    existing container whose name matches one of the patterns."""
    by_name = {container_name(c): c for c in listing}
    out: dict[str, dict[str, Any] | None] = {name: by_name.get(name) for name in expected}
    pats = list(patterns)
    for name, c in by_name.items():
        if name not in out and any(fnmatch.fnmatchcase(name, p) for p in pats):
            out[name] = c
    return dict(sorted(out.items()))


def container_samples(name: str, inspect: dict[str, Any] | None) -> list[Sample]:
    """``docker ps`` / ``docker inspect`` of one container as samples (present 0 when missing)."""
    lbl = {"container": name}
    if inspect is None:
        return [gauge("lucid_container_present", 0, "1 when the container exists", **lbl),
                gauge("lucid_container_running", 0, "1 when the container is running", **lbl)]
    state = inspect.get("State") or {}
    health = str((state.get("Health") or {}).get("Status") or "none")
    # The configured limit (docker run --memory), 0 when there is none. docker stats reports the
    # host's memory as the "limit" of an unlimited container, which would make a container using
    # most of the host look 90 % full instead of having no limit at all.
    limit = (inspect.get("HostConfig") or {}).get("Memory")
    return [
        gauge("lucid_container_memory_limit_bytes", float(limit) if isinstance(limit, int | float) else 0.0,
              "Memory limit of the container (docker run --memory; 0: no limit)", **lbl),
        gauge("lucid_container_present", 1, "1 when the container exists", **lbl),
        gauge("lucid_container_running", 1 if state.get("Running") else 0, "1 when the container is running", **lbl),
        *one_hot("lucid_container_health_status", "status", health, HEALTH_STATES,
                 "Docker health check state, one series per state (none: no health check)", **lbl),
        gauge("lucid_container_restart_count", float(inspect.get("RestartCount") or 0),
              "Restarts of the container by its restart policy", **lbl),
        gauge("lucid_container_oom_killed", 1 if state.get("OOMKilled") else 0,
              "1 when the container's last exit was an out-of-memory kill", **lbl),
        gauge("lucid_container_exit_code", float(state.get("ExitCode") or 0),
              "Exit code of the container's last run (0 while running)", **lbl),
        gauge("lucid_container_started_at_seconds", parse_docker_time(state.get("StartedAt")),
              "When the container last started (Unix time)", **lbl),
    ]


def stats_samples(name: str, stats: dict[str, Any]) -> list[Sample]:
    """One-shot ``docker stats`` of a running container: CPU seconds and memory used (the limit comes
    from ``docker inspect``: container_samples)."""
    lbl = {"container": name}
    out: list[Sample] = []
    cpu = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    if isinstance(cpu, int | float):
        out.append(Sample("lucid_container_cpu_seconds_total", cpu / 1e9, lbl,
                          "CPU time used by the container", "counter"))
    mem = stats.get("memory_stats") or {}
    usage = mem.get("usage")
    if isinstance(usage, int | float):
        detail = mem.get("stats") or {}
        # As `docker stats` shows it: page cache is not counted (cgroup v1: cache, v2: inactive_file).
        cache = detail.get("total_inactive_file", detail.get("inactive_file", detail.get("cache", 0))) or 0
        out.append(gauge("lucid_container_memory_usage_bytes", max(0.0, usage - cache),
                         "Memory used by the container, page cache excluded (docker stats)", **lbl))
    return out


def disk_usage_samples(df: dict[str, Any]) -> list[Sample]:
    """``docker system df``: bytes used per type."""
    images = sum(int(i.get("Size") or 0) for i in df.get("Images") or [])
    containers = sum(int(c.get("SizeRw") or 0) for c in df.get("Containers") or [])
    volumes = sum(max(0, int((v.get("UsageData") or {}).get("Size") or 0)) for v in df.get("Volumes") or [])
    cache = sum(int(b.get("Size") or 0) for b in df.get("BuildCache") or [])
    values = dict(zip(DISK_TYPES, (images, containers, volumes, cache), strict=True))
    out = [gauge("lucid_docker_disk_usage_bytes", v, "Bytes used by docker, per type (docker system df)", type=t)
           for t, v in values.items()]
    out.append(gauge("lucid_docker_disk_layers_bytes", float(df.get("LayersSize") or 0),
                     "Bytes used by image layers on disk (shared layers counted once)"))
    return out


def network_samples(name: str, inspect: dict[str, Any] | None) -> list[Sample]:
    lbl = {"network": name}
    if inspect is None:
        return [gauge("lucid_docker_network_present", 0, "1 when the docker network exists", **lbl),
                gauge("lucid_docker_network_containers", 0, "Containers attached to the network", **lbl)]
    attached = attached_containers(inspect)
    out = [gauge("lucid_docker_network_present", 1, "1 when the docker network exists", **lbl),
           gauge("lucid_docker_network_containers", len(attached), "Containers attached to the network", **lbl)]
    out += [gauge("lucid_docker_network_attached", 1, "A container attached to the network", container=c, **lbl)
            for c in attached]
    return out


def attached_containers(inspect: dict[str, Any]) -> list[str]:
    return sorted(str(c.get("Name", cid[:12])) for cid, c in (inspect.get("Containers") or {}).items())


def tron_violations(attached: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """Containers on the TRON network that are not TRON payment services."""
    ok = set(allowed)
    return sorted(c for c in attached if c not in ok)


# ---------------------------------------------------------------------------------------------
# The engine connection


class DockerAccess:
    """One long-lived DockerClient and its bounded thread pool; created on first use."""

    def __init__(self, cfg: DockerConfig) -> None:
        self.cfg = cfg
        self._client: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import docker

                # The address without credentials; a user:password (an authenticating proxy in front
                # of the engine) goes to the APIClient, a requests.Session, as basic auth.
                url = self.cfg.base_url
                self._client = docker.DockerClient(base_url=str(url) if url.scheme == "ssh" else url.public,
                                                   timeout=self.cfg.api_timeout_seconds,
                                                   max_pool_size=self.cfg.workers)
                creds = url.credentials
                if creds is not None and url.scheme != "ssh":
                    self._client.api.auth = (creds.username, creds.password.get_secret_value())
            return self._client

    @property
    def api(self) -> Any:
        """The low-level APIClient (call only from the pool)."""
        return self._get_client().api

    async def api_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """One low-level API call (``APIClient.<method>``) in the pool; the client is created there."""
        return await self.call(lambda: getattr(self.api, method)(*args, **kwargs))

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one blocking docker call in the pool; engine errors become ProbeErrors."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.cfg.workers, thread_name_prefix="docker")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))
        except ProbeError:
            raise
        except Exception as e:
            raise self.error(e) from e

    def error(self, e: BaseException) -> ProbeError:
        import docker.errors
        import requests.exceptions

        text = str(e)
        if isinstance(e, docker.errors.NotFound):
            return ProbeError("other", f"not found: {text[:200]}")
        if isinstance(e, requests.exceptions.Timeout) or "timed out" in text.lower():
            return ProbeError("timeout", f"docker engine at {self.cfg.base_url} did not answer in time")
        if isinstance(e, docker.errors.APIError):
            return ProbeError("http_status", f"docker engine error: {text[:200]}")
        if (isinstance(e, requests.exceptions.ConnectionError | docker.errors.DockerException | OSError)
                or "No such file" in text or "refused" in text.lower()):
            return ProbeError("refused", f"docker engine not reachable at {self.cfg.base_url} "
                                         f"(is dockerd running and the socket mounted?): {text[:160]}")
        return ProbeError("other", f"{type(e).__name__}: {text[:200]}")

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            pool, self._pool = self._pool, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing must not fail the shutdown
                client.close()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


_ACCESS: dict[tuple[SecretURL, int, float], DockerAccess] = {}
_ACCESS_LOCK = threading.Lock()


def shared_access(cfg: DockerConfig) -> DockerAccess:
    """The one DockerAccess per engine address, shared by the docker and log probes."""
    key = (cfg.base_url, cfg.workers, cfg.api_timeout_seconds)
    with _ACCESS_LOCK:
        acc = _ACCESS.get(key)
        if acc is None:
            acc = _ACCESS[key] = DockerAccess(cfg)
        return acc


def inspect_container(access: DockerAccess, container_id: str) -> dict[str, Any]:
    """``docker inspect``, minus the container's environment: the engine sends it, it may hold
    secrets, and the exporter drops it at once (never kept, logged or exposed)."""
    found: dict[str, Any] = access.api.inspect_container(container_id)
    config = found.get("Config")
    if isinstance(config, dict):
        config.pop("Env", None)
    return found


def expected_containers(services: dict[str, Service]) -> list[str]:
    return sorted({s.container for s in services.values() if s.container})


async def watched_containers(access: DockerAccess, services: dict[str, Service],
                             patterns: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    listing = await access.api_call("containers", all=True)
    return select_containers(listing, expected_containers(services), patterns)


# ---------------------------------------------------------------------------------------------
# Probes


class DockerProbe(Probe):
    """A probe using the shared engine connection; closing releases it (re-created lazily)."""

    access: DockerAccess

    async def close(self) -> None:
        self.access.close()


class ContainersProbe(DockerProbe):
    """docker ps + inspect + one-shot stats of every watched container.

    Stats are slow on some engines (dockerd 20.10 answers a one-shot stats request at its next
    one-second collection tick, so 25 containers through 4 workers take ~7 s): they are refreshed
    by a task of their own, which a run waits for only as long as its deadline allows. A run that
    cannot wait reports the containers' state at once with the stats of the last refresh (of the
    containers running now), so a short scrape timeout never loses the whole container probe.
    """

    kind = "docker"
    target = "containers"

    def __init__(self, cfg: DockerConfig, services: dict[str, Service], access: DockerAccess) -> None:
        self.cfg = cfg
        self.services = services
        self.access = access
        self.min_interval = cfg.min_interval_seconds
        self.timeout = cfg.api_timeout_seconds + 5
        self._stats: dict[str, list[Sample]] = {}  # container id -> samples of the last refresh
        self._stats_task: asyncio.Task[None] | None = None

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        watched = await watched_containers(self.access, self.services, self.cfg.container_patterns)
        names = list(watched)
        running: dict[str, str] = {}

        async def one(name: str) -> list[Sample]:
            summary = watched[name]
            if summary is None:
                return container_samples(name, None)
            try:
                inspect = await self.access.call(inspect_container, self.access, summary["Id"])
            except ProbeError as e:
                if e.message.startswith("not found"):  # removed between list and inspect
                    return container_samples(name, None)
                raise
            if (inspect.get("State") or {}).get("Running"):
                running[name] = str(summary["Id"])
            return container_samples(name, inspect)

        results = await asyncio.gather(*(one(n) for n in names))
        out = [s for r in results for s in r]
        if self.cfg.stats and running:
            task = self._refresh_stats(running)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, ctx.remaining() - 0.1))
            for cid in running.values():
                out += self._stats.get(cid, [])
        out.append(gauge("lucid_containers_watched", len(names), "Containers watched (expected and matching)"))
        return out

    def _refresh_stats(self, running: dict[str, str]) -> asyncio.Task[None]:
        """The stats refresh in flight, or a new one for ``running`` (name -> container id)."""
        task = self._stats_task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            return task

        async def one(name: str, cid: str) -> tuple[str, list[Sample]]:
            try:
                stats = await self.access.api_call("stats", cid, stream=False, one_shot=True)
            except ProbeError:
                return cid, []  # a container stopping mid-scrape has no stats; its state is still reported
            return cid, stats_samples(name, stats)

        async def refresh() -> None:
            try:
                results = await asyncio.gather(*(one(n, c) for n, c in running.items()))
            except Exception:  # an unexpected reply: keep the last stats, try again next run
                return
            self._stats = {cid: samples for cid, samples in results if samples}

        self._stats_task = asyncio.get_running_loop().create_task(refresh())
        return self._stats_task

    async def close(self) -> None:
        task, self._stats_task = self._stats_task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await super().close()


class NetworksProbe(DockerProbe):
    """docker network inspect lucid-network / lucid-tron-network, and TRON isolation."""

    kind = "docker"
    target = "networks"

    def __init__(self, cfg: DockerConfig, services: dict[str, Service], access: DockerAccess) -> None:
        self.cfg = cfg
        self.access = access
        self.min_interval = cfg.min_interval_seconds
        self.allowed = sorted({s.container for s in services.values() if s.cluster == "tron"}
                              | set(cfg.tron_allowed_containers))

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        import docker.errors

        names = list(dict.fromkeys([*self.cfg.networks, self.cfg.tron_network]))

        def inspect(name: str) -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = self.access.api.inspect_network(name)
            except docker.errors.NotFound:
                return None
            # inspect by name also matches an ID prefix: insist on the exact name.
            return found if found.get("Name") == name else None

        results = await asyncio.gather(*(self.access.call(inspect, n) for n in names))
        out: list[Sample] = []
        tron: dict[str, Any] | None = None
        for name, res in zip(names, results, strict=True):
            out += network_samples(name, res)
            if name == self.cfg.tron_network:
                tron = res
        bad = tron_violations(attached_containers(tron), self.allowed) if tron else []
        out.append(gauge("lucid_tron_isolation_violations", len(bad),
                         "Containers on the TRON network that are not TRON payment services"))
        out += [gauge("lucid_tron_isolation_violation", 1, "A non-TRON container on the TRON network", container=c)
                for c in bad]
        return out


class DiskUsageProbe(DockerProbe):
    """docker system df."""

    kind = "docker"
    target = "disk_usage"

    def __init__(self, cfg: DockerConfig, access: DockerAccess) -> None:
        self.access = access
        self.min_interval = cfg.disk_usage_min_interval_seconds
        self.timeout = max(cfg.api_timeout_seconds, 30.0)

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return disk_usage_samples(await self.access.api_call("df"))


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    cfg = settings.docker
    if not cfg.enabled:
        return []
    access = shared_access(cfg)
    probes: list[Probe] = [ContainersProbe(cfg, services, access), NetworksProbe(cfg, services, access),
                           DiskUsageProbe(cfg, access)]
    return probes
