"""Real foundation stores beside the sim: seed them the way Lucid would, and point the
exporter's store probes at them.

The sim's MongoDB and Redis entries are TCP stand-ins; ``make demo``, the fire drill and the
dashboards' live test run real servers (Debian redis-server, SecantusDB, osmem-server) and
call this to give them Lucid-shaped content: the guide's required indexes, rate-limit keys,
an index with documents.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def seed(redis_port: int, mongo_port: int, es_port: int, host: str = "127.0.0.1",
         mongo_auth: tuple[str, str] | None = None, redis_password: str | None = None) -> None:
    import redis
    from pymongo import MongoClient

    r = redis.Redis(host=host, port=redis_port, password=redis_password)
    try:
        for i in range(25):
            r.set(f"ratelimit:user:{i}", 1, ex=3600)
        r.set("cache:session:demo", "x", ex=3600)
    finally:
        r.close()
    kw: dict[str, Any] = {"username": mongo_auth[0], "password": mongo_auth[1]} if mongo_auth else {}
    m: MongoClient[dict[str, Any]] = MongoClient(f"mongodb://{host}:{mongo_port}", directConnection=True,
                                                 serverSelectionTimeoutMS=10000, **kw)
    try:
        m.lucid.users.create_index("email", unique=True)
        m.lucid.sessions.create_index([("user_id", 1), ("created_at", 1)])
        m.lucid.users.update_one({"email": "operator@lucid.example"}, {"$set": {"role": "admin"}}, upsert=True)
        m.lucid_blocks.blocks.update_one({"height": 0}, {"$set": {"hash": "genesis"}}, upsert=True)
    finally:
        m.close()
    for method, path, body in (("PUT", "/lucid-sessions", {"settings": {"number_of_replicas": 0}}),
                               ("POST", "/lucid-sessions/_doc?refresh=true", {"session_id": "demo"})):
        req = urllib.request.Request(f"http://{host}:{es_port}{path}", data=json.dumps(body).encode(),
                                     method=method, headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except urllib.error.HTTPError as e:
            if e.code != 400:  # 400: the index exists already (a second seeding)
                raise


def exporter_config(cfg: dict[str, Any], redis_port: int, mongo_port: int, es_port: int,
                    host: str = "127.0.0.1", mongo_auth: tuple[str, str] | None = None,
                    node_stats: bool = True) -> dict[str, Any]:
    """``cfg`` with the store probes on and pointed at the real servers."""
    out = dict(cfg)
    services = dict(out.get("services", {}))
    services["redis"] = {**services.get("redis", {}), "url": f"tcp://{host}:{redis_port}"}
    services["mongodb"] = {**services.get("mongodb", {}), "url": f"tcp://{host}:{mongo_port}"}
    services["elasticsearch"] = {**services.get("elasticsearch", {}), "url": f"http://{host}:{es_port}"}
    out["services"] = services
    out["redis"] = {"address": f"{host}:{redis_port}"}
    mongodb: dict[str, Any] = {"address": f"{host}:{mongo_port}"}
    if mongo_auth:
        mongodb |= {"username": mongo_auth[0], "password": mongo_auth[1]}
    out["mongodb"] = mongodb
    out["elasticsearch"] = {"url": f"http://{host}:{es_port}", "node_stats": node_stats}
    return out
