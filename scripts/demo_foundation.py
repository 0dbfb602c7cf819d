"""make demo helper: seed the real foundation servers the demo started, and point the
exporter config at them (mongodb/redis/elasticsearch sections and services urls).

usage: demo_foundation.py CONFIG REDIS_PORT MONGO_PORT ES_PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from lucid_sim import foundation


def main() -> None:
    cfg_path, ports = Path(sys.argv[1]), [int(p) for p in sys.argv[2:5]]
    foundation.seed(*ports)
    cfg = yaml.safe_load(cfg_path.read_text()) or {}
    # osmem-server, the demo's Elasticsearch, does not implement _nodes/stats (HTTP 400): the node
    # sub-probe is off so that the healthy demo raises no alert (tests cover that partial failure).
    cfg_path.write_text(yaml.safe_dump(foundation.exporter_config(cfg, *ports, node_stats=False), sort_keys=False))


if __name__ == "__main__":
    main()
