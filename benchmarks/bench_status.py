"""Scrape time of the full status-check catalogue against the sim, and the series it exposes.

Starts the simulated stack and the exporter (cache off: every scrape runs every check),
scrapes /metrics 20 times, and prints a table.
Run: .venv/bin/python benchmarks/bench_status.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import EXPORTER, SIM, Proc, free_port, parse_metrics, sim_ports, wait_port  # noqa: E402

RUNS = 20


def timed_get(url: str) -> tuple[float, str]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read().decode()
    return time.perf_counter() - start, body


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (base, control), port = sim_ports(), free_port()
        cfg_path = tmp / "sim.yml"
        sim = Proc([*SIM, "--base-port", str(base), "--control-port", str(control),
                    "--write-config", str(cfg_path)], tmp / "sim.log")
        try:
            wait_port(control, proc=sim.p)
            while not cfg_path.exists() or not cfg_path.stat().st_size:
                time.sleep(0.05)
            cfg = yaml.safe_load(cfg_path.read_text())
            cfg["probes"] = {"min_interval_seconds": 0}
            exp_cfg = tmp / "exporter.yml"
            exp_cfg.write_text(yaml.safe_dump(cfg))
            with Proc([*EXPORTER, "serve", "--config", str(exp_cfg), "--web.listen-address",
                       f"127.0.0.1:{port}", "--log.level", "warn"], tmp / "exporter.log") as exp:
                wait_port(port, proc=exp.p)
                url = f"http://127.0.0.1:{port}"
                timed_get(f"{url}/metrics")  # warm-up: pools, first round
                full = [timed_get(f"{url}/metrics") for _ in range(RUNS)]
                series_all = parse_metrics(full[-1][1])
                checks = sorted({dict(lbl)["target"] for (n, lbl) in series_all
                                 if n == "lucid_probe_success" and dict(lbl).get("probe") == "lucid_status"})
                failing = [dict(lbl)["target"] for (n, lbl), v in series_all.items()
                           if n == "lucid_probe_success" and dict(lbl).get("probe") == "lucid_status" and v != 1]
                # Series produced by the status checks themselves (not the self-metrics).
                status_series = {k for k in series_all if k[0].startswith("lucid_")
                                 and not k[0].startswith(("lucid_probe_", "lucid_service_", "lucid_exporter_"))}
        finally:
            sim.stop()
    med = statistics.median(t for t, _ in full)
    p90 = sorted(t for t, _ in full)[int(RUNS * 0.9) - 1]
    print(f"Full catalogue against the sim ({len(checks)} status checks + health checks), cache off, {RUNS} scrapes")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| /metrics scrape time, median of {RUNS} | {med * 1000:.1f} ms |")
    print(f"| /metrics scrape time, p90 | {p90 * 1000:.1f} ms |")
    print(f"| series exposed by /metrics (all) | {len(series_all)} |")
    print(f"| series from the status checks (without self-metrics) | {len(status_series)} |")
    print(f"| status checks failing on the healthy sim | {len(failing)} {failing if failing else ''} |")
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())
