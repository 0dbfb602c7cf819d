"""The host side of the simulated stack: RDP ports, a data volume and backups.

The guide checks `netstat -tuln | grep -E "(13389|14389)"`, `df -h` and the backups under
/opt/lucid/backups. The sim listens on the two RDP ports on a loopback address of its own
(127.0.x.y derived from the base port, so that sims side by side do not collide), and keeps
a data directory with fresh MongoDB and Redis backups. Faults: ``xrdp=down`` closes the RDP
ports too; ``mongodb|redis=backup_stale`` ages the newest backup by three days;
``mongodb|redis=backup_missing`` removes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from .faults import FaultFollower
from .stack import SimStack

RDP_PORTS = (13389, 14389)
BACKUP_KINDS = ("mongodb", "redis")
FAULT_KINDS = {
    "backup_stale": "mongodb/redis: the newest backup is three days old",
    "backup_missing": "mongodb/redis: no backup at all",
}
_BACKUP_FILES = {"mongodb": "latest_backup.gz", "redis": "latest_backup.rdb"}


def rdp_host(base_port: int) -> str:
    return f"127.0.{(base_port >> 8) & 255}.{max(1, base_port & 255)}"


class HostSim(FaultFollower):
    def __init__(self, stack: SimStack, data_dir: Path) -> None:
        self.stack = stack
        self.data_dir = data_dir
        self.rdp_host = rdp_host(stack.base_port)
        self._servers: list[asyncio.Server] = []

    def exporter_config(self, stack: SimStack) -> dict[str, Any]:
        return {
            "docker": {"enabled": False},  # the sim has no engine; see docs/containers-logs.md
            "logs": {"enabled": False},
            "network": {"tcp_targets": [f"{self.rdp_host}:{p}" for p in RDP_PORTS]},
            "host": {"paths": [str(self.data_dir)],
                     "backup_dirs": {k: str(self.data_dir / "backups" / k) for k in BACKUP_KINDS}},
        }

    async def start(self) -> None:
        for kind in BACKUP_KINDS:
            d = self.data_dir / "backups" / kind
            d.mkdir(parents=True, exist_ok=True)
        self._sync_backups()
        await self._sync_rdp()
        self.start_following()

    async def stop(self) -> None:
        await self.stop_following()
        await self._close_rdp()

    async def sync(self) -> None:
        self._sync_backups()
        await self._sync_rdp()

    def _sync_backups(self) -> None:
        now = time.time()
        for kind in BACKUP_KINDS:
            path = self.data_dir / "backups" / kind / _BACKUP_FILES[kind]
            if self.stack.faults.has(kind, "backup_missing"):
                path.unlink(missing_ok=True)
                continue
            if not path.exists():
                path.write_bytes(b"simulated backup\n" * 64)
            # A healthy stack backs up continuously; a stale one stopped three days ago.
            age = 3 * 86400 if self.stack.faults.has(kind, "backup_stale") else 60
            os.utime(path, (now - age, now - age))

    async def _sync_rdp(self) -> None:
        down = self.stack.faults.has("xrdp", "down")
        if down and self._servers:
            await self._close_rdp()
        elif not down and not self._servers:
            for port in RDP_PORTS:
                self._servers.append(await asyncio.start_server(_accept_and_close, self.rdp_host, port,
                                                                reuse_address=True))

    async def _close_rdp(self) -> None:
        for server in self._servers:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        self._servers.clear()


async def _accept_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()
