"""A real Prometheus (Debian's `prometheus`) on a free port with temporary storage, for tests."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .support import Proc, free_port, http_get, wait_until

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@dataclass
class Prometheus:
    proc: Proc
    url: str

    def query(self, expr: str) -> dict[str, Any]:
        """The parsed answer of /api/v1/query (an error answer too: status "error", errorType, error)."""
        status, body = http_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        try:
            answer: dict[str, Any] = json.loads(body)
        except json.JSONDecodeError:
            answer = {"status": "error", "errorType": f"http {status}", "error": body[:300]}
        return answer

    def result(self, expr: str) -> list[dict[str, Any]]:
        answer = self.query(expr)
        assert answer["status"] == "success", answer
        res = answer["data"]["result"]
        # A scalar (e.g. time()) is one value, not a list of series.
        return res if isinstance(res, list) else [{"value": res}]

    def stop(self) -> None:
        self.proc.stop()


def start_prometheus(tmp: Path, targets: list[str], scrape_interval: str = "1s",
                     rule_files: list[Path] | None = None) -> Prometheus:
    """Prometheus scraping ``targets`` (host:port) as job "lucid"; stopped by ``.stop()``."""
    port = free_port()
    config = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval,
                   "evaluation_interval": scrape_interval},
        "scrape_configs": [{"job_name": "lucid", "static_configs": [{"targets": targets}]}],
    }
    if rule_files:
        config["rule_files"] = [str(p) for p in rule_files]
    cfg = tmp / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(config))
    data = tmp / "prometheus-data"
    data.mkdir(exist_ok=True)
    proc = Proc([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h",
                 "--log.level=warn"], tmp / "prometheus.log")
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.p.poll() is not None:
            raise RuntimeError(f"prometheus exited: {proc.output()[-2000:]}")
        try:
            return http_get(f"{url}/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    try:
        wait_until(ready, timeout=30, interval=0.2, what="prometheus ready")
    except BaseException:
        proc.stop()
        raise
    return Prometheus(proc, url)
