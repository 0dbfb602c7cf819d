"""The Lucid containers of the simulated stack, on a real Docker engine (``sim --docker``).

One busybox container per catalogue service, named as in the catalogue (``lucid-<service>``,
label ``lucid.sim=1``), on ``lucid-network`` (the TRON cluster also on ``lucid-tron-network``,
and nothing else there: 0 isolation violations). Each runs a ``sh`` loop that writes Lucid log
lines: ``asctime - name - LEVEL - message`` (the api-gateway: JSON lines with a ``level``).
Mostly INFO, a WARNING now and then; at its first start each container also writes one slow
WARNING, one ERROR with a LUCID_ERR code and one CRITICAL line (the auth, gateway and admin
containers also a failed login), so that every log metric the dashboards read exists on a
healthy stack while the error-rate alerts stay quiet.

Image: ``lucid-sim-busybox:latest``, ``docker import``-ed (no registry needed) from Debian's
statically linked ``/bin/busybox`` plus applet symlinks, built only when missing.

Faults (``PUT /faults/{service}/{kind}`` on the sim's control port):
- ``container_stopped``: ``docker stop``; clearing starts it again.
- ``error_burst``: ten ERROR lines with the service's LUCID_ERR code every two seconds.
- ``restart_loop``: the process exits 1 soon after each start; the restart policy
  (``unless-stopped``) restarts it with docker's back-off, the restart count climbs.
- ``tron_isolation_breach``: the service's container is connected to ``lucid-tron-network``
  (a non-TRON service, e.g. api-gateway; on a TRON service it changes nothing); clearing
  disconnects it.
The in-container kinds are a file, ``/tmp/lucid-sim-fault``, written with ``docker cp``
(``put_archive``) and read by the loop every two seconds; it survives restarts.

Only one docker-enabled sim runs on one engine (container names are fixed): containers carry
``lucid.sim.owner=<host>:<pid>``; a sim refuses to start while another live sim owns them, and
removes those of a sim that died without cleaning up. Containers of the same names that are
not the sim's are never touched: the sim refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shlex
import shutil
import socket
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .catalogue import Service
from .faults import FaultFollower
from .stack import SimStack

log = logging.getLogger("lucid_sim.containers")
T = TypeVar("T")

DEFAULT_URL = "unix:///var/run/docker.sock"
IMAGE = "lucid-sim-busybox:latest"
LABEL = "lucid.sim"
OWNER_LABEL = "lucid.sim.owner"
SERVICE_LABEL = "lucid.sim.service"
NETWORK = "lucid-network"
TRON_NETWORK = "lucid-tron-network"
FAULT_FILE = "/tmp/lucid-sim-fault"
MEMORY_LIMIT = 64 * 1024 * 1024
# Applets the sim's log loops and the tests' containers use (ash builtins need no link).
APPLETS: tuple[str, ...] = (
    "sh", "sleep", "echo", "cat", "head", "tail", "tr", "dd", "yes", "true", "false", "seq", "printf", "ls",
    "date", "rm", "test", "[", "mkdir", "env", "wc", "grep",
)
FAULT_KINDS: dict[str, str] = {
    "container_stopped": "docker: the service's container is stopped (clearing starts it)",
    "error_burst": "docker: the container logs ten ERROR lines with a LUCID_ERR code every two seconds",
    "restart_loop": "docker: the container's process crashes soon after each start; its restart count climbs",
    "tron_isolation_breach": "docker: the (non-TRON) service's container is connected to lucid-tron-network",
}
IN_CONTAINER_KINDS: tuple[str, ...] = ("error_burst", "restart_loop")


class SimRefused(RuntimeError):
    """The containers cannot be started; the message is one line for the user."""


# ---------------------------------------------------------------------------------------------
# The image


def busybox_rootfs_tar(busybox: str | None = None, applets: tuple[str, ...] = APPLETS) -> bytes:
    """A root filesystem tarball: a statically linked busybox plus applet symlinks."""
    path = busybox or shutil.which("busybox") or "/bin/busybox"
    if not Path(path).is_file():
        raise SimRefused(f"no busybox at {path}: install Debian's busybox-static")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "tmp", "proc", "sys", "dev", "etc"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(path, arcname="bin/busybox")
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    return buf.getvalue()


ROOTFS_LABEL = "lucid.sim.rootfs"


def import_image(client: Any, image: str, rootfs: bytes | None = None) -> None:
    """``docker import`` of the busybox root filesystem as ``image`` (``repository:tag``), labelled
    with the digest of the root filesystem."""
    data = rootfs if rootfs is not None else busybox_rootfs_tar()
    repository, _, tag = image.rpartition(":")
    client.api.import_image_from_data(data, repository=repository, tag=tag or "latest",
                                      changes=[f"LABEL {ROOTFS_LABEL}={_digest(data)}"])


def ensure_image(client: Any, image: str = IMAGE) -> None:
    """Import the image unless the engine has it, built from this root filesystem (busybox and
    applets): an image left by an older version with other applets is replaced."""
    import docker.errors

    rootfs = busybox_rootfs_tar()
    try:
        found = client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        found = None
    labels = ((found or {}).get("Config") or {}).get("Labels") or {}
    if labels.get(ROOTFS_LABEL) != _digest(rootfs):
        import_image(client, image, rootfs)


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# What each container logs (pure)


@dataclass(frozen=True)
class LogProfile:
    logger: str
    json: bool
    infos: tuple[str, ...]
    warning: str
    slow: str
    code: str
    error: str
    critical: str
    auth_failure: str | None = None


# Per cluster: routine INFO lines ($n: the loop counter), an occasional WARNING, the LUCID_ERR code
# range, and the start-up lines. No double quotes, backslashes or backquotes (JSON and sh).
_CLUSTER_LINES: dict[str, tuple[tuple[str, ...], str, int]] = {
    "foundation": (("Connection accepted from lucid-api-gateway (connection $n)", "Checkpoint complete",
                    "Replica set member heartbeat ok"), "Connection pool at 80 percent of its limit", 1000),
    "auth": (("Token issued for session s-$n", "JWT signing key loaded",
              "Hardware wallet detection: no ledger or trezor attached, software keys in use"),
             "Token refresh retried for session s-$n", 2000),
    "gateway": (("GET /api/v1/sessions 200", "CORS preflight from https://admin.lucid.local allowed",
                 "POST /api/v1/auth/verify 200"), "Rate limit near for client 10.0.0.$((n % 250))", 3000),
    "blockchain": (("Block produced at height $n", "Session anchored to chain in block $n",
                    "Consensus round complete"), "Block time above target for height $n", 4000),
    "sessions": (("Chunk $n processed and stored", "Session recording segment $n written",
                  "Pipeline state: processing"), "Chunk queue above 100 items", 5000),
    "rdp": (("RDP port pool check ok", "Resource sample collected", "Session controller heartbeat"),
            "RDP port pool 80 percent used", 6000),
    "nodes": (("PoOT score computed for node pool", "Node heartbeat received from node-$((n % 9))",
               "Work credits tallied"), "PoOT score below threshold for node-$((n % 9))", 7000),
    "admin": (("RBAC policy loaded", "Admin dashboard request served", "Audit log entry $n written"),
              "RBAC role cache refreshed late", 8000),
    "tron": (("TRON block synced", "Payout batch $n checked", "USDT balance refreshed"),
             "TRON API answer above 2 s", 9000),
    "system": (("Routine check ok",), "Routine check slow", 9900),
}


def log_profile(service: Service, index: int = 1) -> LogProfile:
    """The log lines of one service's container."""
    infos, warning, base = _CLUSTER_LINES.get(service.cluster, _CLUSTER_LINES["system"])
    name = service.name
    code = f"LUCID_ERR_{base + index:04d}"
    auth_failure = None
    if service.cluster in ("auth", "gateway", "admin") and name != "rate-limiter":
        auth_failure = "Login failed for user 0x3f9a: invalid token signature"
    return LogProfile(
        logger=f"lucid.{name}",
        json=name == "api-gateway",
        infos=infos,
        warning=warning,
        slow="Slow request to lucid-mongodb during start-up: duration 1840 ms (limit 1000 ms)",
        code=code,
        error=f"{code} Start-up dependency check failed once, retry succeeded",
        critical=f"{name} watchdog missed one heartbeat during start-up, recovered",
        auth_failure=auth_failure,
    )


def log_script(service: Service, p: LogProfile) -> str:
    """The container's ``sh -c`` script: log lines forever, reading the fault file every loop."""
    # asctime with milliseconds: busybox date has no %N; the milliseconds only grow within a second.
    clock = ("clock() {\n"
             f"  s=$(date -u '+%Y-%m-%d{'T' if p.json else ' '}%H:%M:%S')\n"
             "  if [ \"$s\" = \"$ls\" ]; then ms=$((ms + 1 + RANDOM % 40)); [ $ms -gt 999 ] && ms=999\n"
             "  else ms=$((RANDOM % 100)); ls=$s; fi\n"
             "}\n")
    if p.json:
        log_fn = ("log() {\n  clock\n"
                  "  printf '{\"timestamp\": \"%s.%03dZ\", \"level\": \"%s\", \"logger\": \"%s\", "
                  "\"message\": \"%s\"}\\n' \"$s\" \"$ms\" \"$1\" \"$L\" \"$2\"\n"
                  "}\n")
    else:
        log_fn = ("log() {\n  clock\n"
                  "  printf '%s,%03d - %s - %s - %s\\n' \"$s\" \"$ms\" \"$L\" \"$1\" \"$2\"\n"
                  "}\n")
    infos = "".join(f"    {i}) log INFO \"{msg}\" ;;\n" for i, msg in enumerate(p.infos[:-1]))
    infos += f"    *) log INFO \"{p.infos[-1]}\" ;;\n"
    auth = f"  log WARNING \"{p.auth_failure}\"\n" if p.auth_failure else ""
    return (
        f"L={shlex.quote(p.logger)}\nF={FAULT_FILE}\n"
        + clock + log_fn
        + "trap 'log INFO \"Received SIGTERM, shutting down\"; exit 0' TERM INT\n"
        f"log INFO \"Starting {service.name}\"\n"
        "if [ ! -f /tmp/.lucid-sim-started ]; then\n"
        "  : > /tmp/.lucid-sim-started\n"
        f"  log WARNING \"{p.slow}\"\n"
        f"  log ERROR \"{p.error}\"\n"
        f"  log CRITICAL \"{p.critical}\"\n"
        + auth
        + "fi\n"
        "n=0\n"
        "while :; do\n"
        "  m=\n"
        "  [ -f $F ] && read -r m < $F\n"
        "  case \" $m \" in *' restart_loop '*)\n"
        f"    log CRITICAL \"{p.code} Worker process crashed, exiting with status 1\"\n"
        "    sleep 0.5; exit 1 ;;\n"
        "  esac\n"
        "  case \" $m \" in *' error_burst '*)\n"
        "    i=0\n"
        "    while [ $i -lt 10 ]; do\n"
        f"      log ERROR \"{p.code} Request failed: upstream dependency returned an error\"\n"
        "      i=$((i + 1))\n"
        "    done ;;\n"
        "  esac\n"
        "  n=$((n + 1))\n"
        "  if [ $((RANDOM % 100)) -lt 4 ]; then\n"
        f"    log WARNING \"{p.warning}\"\n"
        "  else\n"
        f"    case $((n % {len(p.infos)})) in\n"
        + infos
        + "    esac\n"
        "  fi\n"
        "  sleep 2 & wait $!\n"
        "done\n"
    )


def fault_file_tar(modes: str) -> bytes:
    """A tarball holding the fault file, for ``put_archive`` into /tmp."""
    data = (modes + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(Path(FAULT_FILE).name)
        info.size = len(data)
        info.mode = 0o644
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def container_services(services: dict[str, Service]) -> list[Service]:
    """The catalogue services that have a container, by container name."""
    return sorted((s for s in services.values() if s.container), key=lambda s: s.container)


def profiles(services: dict[str, Service]) -> dict[str, LogProfile]:
    """The log profile of each service with a container; LUCID_ERR codes numbered within a cluster
    (auth-service: LUCID_ERR_2001)."""
    out: dict[str, LogProfile] = {}
    seen: dict[str, int] = {}
    for s in container_services(services):
        seen[s.cluster] = seen.get(s.cluster, 0) + 1
        out[s.name] = log_profile(s, seen[s.cluster])
    return out


# ---------------------------------------------------------------------------------------------
# Ownership


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str) -> bool:
    """Whether the sim that labelled a container still runs (another host's: assumed alive)."""
    host, sep, pid_text = owner.rpartition(":")
    if not sep or not host:
        return False  # no owner recorded: nobody to wait for
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return False  # ours from before, e.g. a restart of the sync: never "another sim"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"sim" in cmdline


# ---------------------------------------------------------------------------------------------
# The containers


@dataclass
class _Applied:
    stopped: bool = False
    modes: str = ""
    breach: bool = False


class ContainerSim(FaultFollower):
    """Creates, drives (faults) and removes the sim's containers on one docker engine."""

    def __init__(self, stack: SimStack, base_url: str = DEFAULT_URL, image: str = IMAGE) -> None:
        self.stack = stack
        self.base_url = base_url
        self.image = image
        self.owner = owner_id()
        self.services = container_services(stack.services)
        self.profiles = profiles(stack.services)
        self._client: Any = None
        self._created_networks: list[str] = []
        self._containers: dict[str, str] = {}  # service -> container id
        self._applied: dict[str, _Applied] = {}
        self._retry_at: dict[str, float] = {}
        self._pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="sim-docker")

    def exporter_config(self, stack: SimStack) -> dict[str, Any]:
        # 16 workers: the one-shot stats of 25 containers in about two of dockerd's one-second ticks.
        return {"docker": {"enabled": True, "base_url": self.base_url, "workers": 16}, "logs": {"enabled": True}}

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._start)
        self.start_following()

    async def stop(self) -> None:
        await self.stop_following()
        await asyncio.to_thread(self._remove)

    def _start(self) -> None:
        import docker

        t0 = time.monotonic()
        try:
            self._client = docker.DockerClient(base_url=self.base_url, timeout=60, max_pool_size=8)
            self._client.ping()
        except Exception as e:
            raise SimRefused(f"no docker engine answers at {self.base_url}: {_short(e)}") from None
        try:
            self._clear_stale()
            ensure_image(self._client, self.image)
            self._ensure_networks()
            ids = list(self._pool.map(self._create, self.services))
            self._containers = {s.name: cid for s, cid in zip(self.services, ids, strict=True)}
            self._applied = {s.name: _Applied() for s in self.services}
            self._wait_running(timeout=30)
        except SimRefused:
            self._remove()
            raise
        except Exception as e:
            self._remove()
            raise SimRefused(f"starting the containers failed: {_short(e)}") from None
        log.info("%d containers running on %s in %.1f s", len(self._containers), self.base_url,
                 time.monotonic() - t0)

    def _clear_stale(self) -> None:
        """Refuse foreign containers of our names and live sims' ones; remove dead sims' ones."""
        api = self._client.api
        names = {s.container for s in self.services}
        listing = api.containers(all=True)
        stale: list[str] = []
        for c in listing:
            name = str((c.get("Names") or ["/"])[0]).lstrip("/")
            if name in names and (c.get("Labels") or {}).get(LABEL) != "1":
                raise SimRefused(f"container {name} exists on {self.base_url} and is not the sim's "
                                 f"(no label {LABEL}=1); not touching it: remove it or use another engine")
        for c in listing:
            owner = (c.get("Labels") or {}).get(OWNER_LABEL, "")
            if (c.get("Labels") or {}).get(LABEL) == "1":
                if owner_alive(owner):
                    raise SimRefused(f"another sim ({owner}) runs the Lucid containers on {self.base_url}; "
                                     "stop it first (only one docker sim per engine)")
                stale.append(c["Id"])
        for c in api.containers(all=True, filters={"label": f"{LABEL}=1"}):
            if c["Id"] not in stale and not owner_alive((c.get("Labels") or {}).get(OWNER_LABEL, "")):
                stale.append(c["Id"])
        if stale:
            log.warning("removing %d containers left by a sim that did not clean up", len(stale))
            list(self._pool.map(lambda cid: _ignore_missing(api.remove_container, cid, force=True), stale))

    def _ensure_networks(self) -> None:
        api = self._client.api
        for name in (NETWORK, TRON_NETWORK):
            found = [n for n in api.networks(names=[name]) if n.get("Name") == name]
            if found:
                labels = found[0].get("Labels") or {}
                if labels.get(LABEL) == "1" and not owner_alive(labels.get(OWNER_LABEL, "")):
                    self._created_networks.append(found[0]["Id"])  # a dead sim's: ours to remove now
                continue
            created = api.create_network(name, driver="bridge", labels={LABEL: "1", OWNER_LABEL: self.owner})
            self._created_networks.append(created["Id"])

    def _create(self, service: Service) -> str:
        from docker.types import LogConfig

        api = self._client.api
        host_config = api.create_host_config(
            mem_limit=MEMORY_LIMIT,
            memswap_limit=MEMORY_LIMIT,
            restart_policy={"Name": "unless-stopped"},
            log_config=LogConfig(type="json-file", config={"max-size": "5m", "max-file": "2"}),
            network_mode=NETWORK,
            init=False,
        )
        created = api.create_container(
            self.image, ["sh", "-c", log_script(service, self.profiles[service.name])], name=service.container,
            hostname=service.container, host_config=host_config,
            labels={LABEL: "1", OWNER_LABEL: self.owner, SERVICE_LABEL: service.name},
            environment={"LUCID_SERVICE": service.name, "LUCID_CLUSTER": service.cluster},
            healthcheck={"test": ["CMD", "true"], "interval": 15_000_000_000, "timeout": 5_000_000_000,
                         "retries": 3, "start_period": 5_000_000_000},
            networking_config=api.create_networking_config(
                {NETWORK: api.create_endpoint_config(aliases=[service.name])}),
            stop_signal="SIGTERM",
        )
        cid = str(created["Id"])
        if service.cluster == "tron":
            api.connect_container_to_network(cid, TRON_NETWORK, aliases=[service.name])
        api.start(cid)
        return cid

    def _wait_running(self, timeout: float) -> None:
        api = self._client.api
        deadline = time.monotonic() + timeout
        while True:
            running = {c["Id"] for c in api.containers(filters={"label": f"{OWNER_LABEL}={self.owner}",
                                                                 "status": "running"})}
            missing = [n for n, cid in self._containers.items() if cid not in running]
            if not missing:
                return
            if time.monotonic() > deadline:
                tail = api.logs(self._containers[missing[0]], tail=5).decode(errors="replace").strip()
                raise SimRefused(f"containers not running after {timeout:.0f} s: {', '.join(missing)}"
                                 f" (lucid-{missing[0]}: {tail[-300:]!r})")
            time.sleep(0.2)

    def _remove(self) -> None:
        if self._client is None:
            return
        api = self._client.api
        ids = list(self._containers.values())
        # Also any container this sim labelled but did not record (a start cut short).
        with contextlib.suppress(Exception):
            ids += [c["Id"] for c in api.containers(all=True, filters={"label": f"{OWNER_LABEL}={self.owner}"})
                    if c["Id"] not in ids]
        list(self._pool.map(lambda cid: _ignore_missing(api.remove_container, cid, force=True), ids))
        self._containers.clear()
        for nid in self._created_networks:
            try:
                api.remove_network(nid)
            except Exception as e:
                log.warning("could not remove network %s: %s", nid[:12], _short(e))
        self._created_networks.clear()
        with contextlib.suppress(Exception):
            self._client.close()
        self._client = None
        self._pool.shutdown(wait=False)

    # -- faults -------------------------------------------------------------------------------
    def desired(self, service: Service) -> _Applied:
        f = self.stack.faults
        modes = " ".join(k for k in IN_CONTAINER_KINDS if f.has(service.name, k))
        return _Applied(stopped=f.has(service.name, "container_stopped"), modes=modes,
                        breach=f.has(service.name, "tron_isolation_breach") and service.cluster != "tron")

    async def sync(self) -> None:
        """Bring every container in line with the faults (one docker call at a time, in a thread)."""
        now = time.monotonic()
        for service in self.services:
            want = self.desired(service)
            if want == self._applied.get(service.name) or self._retry_at.get(service.name, 0) > now:
                continue
            try:
                await self._call(self._apply, service, want)
                self._retry_at.pop(service.name, None)
            except Exception as e:
                # Warn once per failing spell (e.g. the container was removed behind the sim's back).
                level = logging.DEBUG if service.name in self._retry_at else logging.WARNING
                log.log(level, "%s: applying container faults failed (retrying every second): %s",
                        service.name, _short(e))
                self._retry_at[service.name] = now + 1.0

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args))

    def _apply(self, service: Service, want: _Applied) -> None:
        api = self._client.api
        cid = self._containers[service.name]
        have = self._applied[service.name]
        if want.modes != have.modes:
            api.put_archive(cid, str(Path(FAULT_FILE).parent), fault_file_tar(want.modes))
            have.modes = want.modes
        if want.breach != have.breach:
            networks = (api.inspect_container(cid).get("NetworkSettings") or {}).get("Networks") or {}
            if want.breach and TRON_NETWORK not in networks:
                api.connect_container_to_network(cid, TRON_NETWORK)
            elif not want.breach and TRON_NETWORK in networks:
                api.disconnect_container_from_network(cid, TRON_NETWORK)
            have.breach = want.breach
        if want.stopped != have.stopped:
            if want.stopped:
                api.stop(cid, timeout=5)
            else:
                api.start(cid)
            have.stopped = want.stopped


def _ignore_missing(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except Exception as e:
        if "No such container" not in str(e) and "404" not in str(e):
            log.warning("docker: %s", _short(e))


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(e).__name__
