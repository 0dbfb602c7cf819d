"""make demo helper: seed the real foundation servers the demo started, and point the
exporter config at them (mongodb/redis/elasticsearch sections and services urls).

usage: demo_foundation.py CONFIG REDIS_PORT MONGO_PORT ES_PORT
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import redis
import yaml
from pymongo import MongoClient


def main() -> None:
    cfg_path, redis_port, mongo_port, es_port = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    r = redis.Redis(host="127.0.0.1", port=redis_port)
    for i in range(25):
        r.set(f"ratelimit:user:{i}", 1, ex=3600)
    r.set("cache:session:demo", "x", ex=3600)
    r.close()
    m: MongoClient = MongoClient(f"mongodb://127.0.0.1:{mongo_port}", directConnection=True,  # type: ignore[type-arg]
                                 serverSelectionTimeoutMS=10000)
    m.lucid.users.create_index("email", unique=True)
    m.lucid.sessions.create_index([("user_id", 1), ("created_at", 1)])
    m.lucid.users.insert_one({"email": "operator@lucid.example"})
    m.lucid_blocks.blocks.insert_one({"height": 0})
    m.close()
    for path, body in (("/lucid-sessions", {"settings": {"number_of_replicas": 0}}),
                       ("/lucid-sessions/_doc?refresh=true", {"session_id": "demo"})):
        req = urllib.request.Request(f"http://127.0.0.1:{es_port}{path}", data=json.dumps(body).encode(),
                                     method="PUT" if "_doc" not in path else "POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).close()

    cfg = yaml.safe_load(cfg_path.read_text()) or {}
    services = cfg.setdefault("services", {})
    services["redis"] = {**services.get("redis", {}), "url": f"tcp://127.0.0.1:{redis_port}"}
    services["mongodb"] = {**services.get("mongodb", {}), "url": f"tcp://127.0.0.1:{mongo_port}"}
    services["elasticsearch"] = {**services.get("elasticsearch", {}), "url": f"http://127.0.0.1:{es_port}"}
    cfg["redis"] = {"address": f"127.0.0.1:{redis_port}"}
    cfg["mongodb"] = {"address": f"127.0.0.1:{mongo_port}"}
    cfg["elasticsearch"] = {"url": f"http://127.0.0.1:{es_port}"}
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))


if __name__ == "__main__":
    main()
