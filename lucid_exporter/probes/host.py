"""The host, as the emergency section checks it: ``df -h`` of the data volumes and the backups in
``/opt/lucid/backups`` that a restore would use. Paths are mounted read-only into the sidecar."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from ..config import HostConfig, Settings
from ..inventory import Service
from ..metrics import Sample, gauge
from .base import Probe, ProbeContext


@dataclass(frozen=True, slots=True)
class Newest:
    files: int
    mtime: float
    size: int
    name: str


def newest_file(directory: str) -> Newest | None:
    """The newest regular file in the directory or its direct subdirectories (dated folders);
    None when the directory does not exist. ``files`` counts them all."""
    if not os.path.isdir(directory):
        return None
    best: tuple[float, int, str] | None = None
    count = 0
    stack = [(directory, 0)]
    while stack:
        path, depth = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_file(follow_symlinks=True):
                    st = e.stat(follow_symlinks=True)
                    count += 1
                    if best is None or st.st_mtime > best[0]:
                        best = (st.st_mtime, st.st_size, e.path)
                elif e.is_dir(follow_symlinks=False) and depth < 1:
                    stack.append((e.path, depth + 1))
            except OSError:
                continue
    if best is None:
        return Newest(0, 0.0, 0, "")
    return Newest(count, best[0], best[1], os.path.relpath(best[2], directory))


def filesystem_samples(path: str) -> list[Sample]:
    try:
        st = os.statvfs(path)
    except OSError:
        return [gauge("lucid_host_filesystem_present", 0, "1 when the path exists and can be measured", path=path)]
    return [
        gauge("lucid_host_filesystem_present", 1, "1 when the path exists and can be measured", path=path),
        gauge("lucid_host_filesystem_size_bytes", st.f_blocks * st.f_frsize, "Size of the filesystem (df)",
              path=path),
        gauge("lucid_host_filesystem_free_bytes", st.f_bfree * st.f_frsize, "Free bytes of the filesystem",
              path=path),
        gauge("lucid_host_filesystem_avail_bytes", st.f_bavail * st.f_frsize,
              "Bytes available to unprivileged users (df Avail)", path=path),
    ]


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo -> bytes by field (``free -h``)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def memory_samples(meminfo: dict[str, int]) -> list[Sample]:
    out: list[Sample] = []
    for key, name, help in (("MemTotal", "lucid_host_memory_total_bytes", "Host memory (free -h: total)"),
                            ("MemAvailable", "lucid_host_memory_available_bytes", "Host memory available (free -h)"),
                            ("SwapTotal", "lucid_host_swap_total_bytes", "Host swap (free -h)"),
                            ("SwapFree", "lucid_host_swap_free_bytes", "Host swap free (free -h)")):
        if key in meminfo:
            out.append(gauge(name, meminfo[key], help))
    return out


def backup_samples(kind: str, found: Newest | None) -> list[Sample]:
    """Always the same series, zero when there is no backup: an alert sees 0, not an absence."""
    lbl = {"kind": kind}
    n = found or Newest(0, 0.0, 0, "")
    return [
        gauge("lucid_backup_directory_present", 0 if found is None else 1,
              "1 when the backup directory exists", **lbl),
        gauge("lucid_backup_present", 1 if n.files else 0, "1 when at least one backup file exists", **lbl),
        gauge("lucid_backup_files", n.files, "Backup files in the directory", **lbl),
        gauge("lucid_backup_last_timestamp_seconds", n.mtime,
              "Modification time of the newest backup file (0: none)", **lbl),
        gauge("lucid_backup_last_size_bytes", n.size, "Size of the newest backup file (0: none)", **lbl),
    ]


class HostProbe(Probe):
    kind = "host"
    target = "host"

    def __init__(self, cfg: HostConfig) -> None:
        self.cfg = cfg

    def _collect(self) -> list[Sample]:
        out: list[Sample] = []
        try:
            with open(self.cfg.meminfo_path, encoding="ascii", errors="replace") as f:
                out += memory_samples(parse_meminfo(f.read()))
        except OSError:
            pass  # not Linux, or /proc not mounted: the rest still counts
        for path in self.cfg.paths:
            out += filesystem_samples(path)
        for kind, directory in self.cfg.backup_dirs.items():
            out += backup_samples(kind, newest_file(directory))
        return out

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        # statvfs and directory scans can block on a slow mount: keep them off the event loop.
        return await asyncio.to_thread(self._collect)


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    return [HostProbe(settings.host)] if settings.host.enabled else []
