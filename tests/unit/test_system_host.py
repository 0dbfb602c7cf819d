"""The emergency section: `df -h` and the backups in /opt/lucid/backups, on temporary directories."""

from __future__ import annotations

import os
from pathlib import Path

from lucid_exporter.config import Settings
from lucid_exporter.probes.host import (
    HostProbe,
    backup_samples,
    filesystem_samples,
    memory_samples,
    newest_file,
    parse_meminfo,
)

from ..servers_docker import run_probe, val


def test_disk_space_of_a_data_path_like_df(tmp_path: Path) -> None:
    s = filesystem_samples(str(tmp_path))
    st = os.statvfs(tmp_path)
    assert val(s, "lucid_host_filesystem_size_bytes", path=str(tmp_path)) == st.f_blocks * st.f_frsize
    assert 0 < val(s, "lucid_host_filesystem_avail_bytes", path=str(tmp_path)) <= val(  # type: ignore[operator]
        s, "lucid_host_filesystem_free_bytes", path=str(tmp_path))
    missing = filesystem_samples(str(tmp_path / "nope"))
    assert val(missing, "lucid_host_filesystem_present", path=str(tmp_path / "nope")) == 0


def test_newest_backup_is_the_latest_file_even_in_a_dated_folder(tmp_path: Path) -> None:
    (tmp_path / "old.gz").write_bytes(b"x" * 10)
    os.utime(tmp_path / "old.gz", (1_700_000_000, 1_700_000_000))
    (tmp_path / "2026-11-28").mkdir()
    (tmp_path / "2026-11-28" / "latest_backup.gz").write_bytes(b"y" * 123)
    os.utime(tmp_path / "2026-11-28" / "latest_backup.gz", (1_800_000_000, 1_800_000_000))
    n = newest_file(str(tmp_path))
    assert n is not None and (n.files, n.mtime, n.size) == (2, 1_800_000_000, 123)
    s = backup_samples("mongodb", n)
    assert val(s, "lucid_backup_last_timestamp_seconds", kind="mongodb") == 1_800_000_000
    assert val(s, "lucid_backup_last_size_bytes", kind="mongodb") == 123
    assert val(s, "lucid_backup_present", kind="mongodb") == 1


def test_no_backup_at_all_is_an_explicit_zero_not_an_absence(tmp_path: Path) -> None:
    empty = backup_samples("redis", newest_file(str(tmp_path)))
    assert val(empty, "lucid_backup_present", kind="redis") == 0
    assert val(empty, "lucid_backup_directory_present", kind="redis") == 1
    assert val(empty, "lucid_backup_last_timestamp_seconds", kind="redis") == 0
    missing = backup_samples("redis", newest_file(str(tmp_path / "absent")))
    assert val(missing, "lucid_backup_directory_present", kind="redis") == 0
    assert val(missing, "lucid_backup_present", kind="redis") == 0


async def test_host_probe_reports_paths_and_every_backup_kind(tmp_path: Path) -> None:
    (tmp_path / "mongodb").mkdir()
    (tmp_path / "mongodb" / "latest_backup.gz").write_bytes(b"z" * 50)
    settings = Settings(host={"paths": [str(tmp_path)], "backup_dirs": {  # type: ignore[arg-type]
        "mongodb": str(tmp_path / "mongodb"), "redis": str(tmp_path / "redis")}})
    s = await run_probe(HostProbe(settings.host), settings)
    assert val(s, "lucid_backup_last_size_bytes", kind="mongodb") == 50
    assert val(s, "lucid_backup_present", kind="redis") == 0
    assert val(s, "lucid_host_filesystem_present", path=str(tmp_path)) == 1


def test_free_h_from_meminfo() -> None:
    text = ("MemTotal:        8039788 kB\nMemFree:  1000 kB\nMemAvailable:    5000000 kB\n"
            "SwapTotal: 0 kB\nHugePages_Total: 0\n")
    info = parse_meminfo(text)
    assert info["MemTotal"] == 8039788 * 1024 and info["HugePages_Total"] == 0
    s = memory_samples(info)
    assert val(s, "lucid_host_memory_available_bytes") == 5000000 * 1024
    assert val(s, "lucid_host_swap_free_bytes") is None
