"""Real foundation servers for the tests: Debian redis-server, SecantusDB (MongoDB wire
protocol) and osmem-server (OpenSearch-compatible). Each runs on a free loopback port and can
be stopped and started again on the same port (the "restarted server" cases)."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from .support import Proc, free_port, wait_port


class Server:
    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self.tmp = tmp
        self.port = free_port()
        self.proc: Proc | None = None
        self.starts = 0

    def args(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}

    def start(self) -> None:
        self.starts += 1
        self.proc = Proc(self.args(), self.tmp / f"{self.name}-{self.starts}.log", env=self.env())
        try:
            wait_port(self.port, proc=self.proc.p, timeout=30)
        except Exception:
            raise RuntimeError(f"{self.name} did not start:\n{self.proc.output()[-2000:]}") from None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class RedisServer(Server):
    def __init__(self, tmp: Path, password: str | None = None, maxmemory: str = "0",
                 policy: str = "noeviction") -> None:
        super().__init__("redis", tmp)
        self.password = password
        self.maxmemory = maxmemory
        self.policy = policy

    def args(self) -> list[str]:
        a = [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.tmp),
             "--maxmemory", self.maxmemory, "--maxmemory-policy", self.policy]
        if self.password:
            a += ["--requirepass", self.password]
        return a

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, decode_responses=True)


class SecantusServer(Server):
    """SecantusDB. With ``auth``, a user is created on a first run without --auth on the same
    storage, and the server restarted with --auth (how secantus provisions users)."""

    def __init__(self, tmp: Path, auth: tuple[str, str] | None = None) -> None:
        super().__init__("secantus", tmp)
        self.auth = auth
        self.storage = tmp / "secantus-data" if auth else None
        self._provisioning = False

    def args(self) -> list[str]:
        a = [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(self.port),
             "--storage-path", str(self.storage) if self.storage else ":memory:", "--log-level", "WARNING"]
        if self.auth and not self._provisioning:
            a.append("--auth")
        return a

    def stop(self) -> None:
        super().stop()
        time.sleep(0.2)  # WiredTiger releases its lock file as the process exits

    def start(self) -> None:
        if self.auth and self.starts == 0:
            from pymongo import MongoClient

            self._provisioning = True
            super().start()
            c: MongoClient = MongoClient(self.uri(), directConnection=True,  # type: ignore[type-arg]
                                         serverSelectionTimeoutMS=10000)
            c.admin.command("createUser", self.auth[0], pwd=self.auth[1], roles=["root"])
            c.close()
            super().stop()
            time.sleep(0.5)
            self._provisioning = False
        super().start()

    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def client(self):  # type: ignore[no-untyped-def]
        from pymongo import MongoClient

        kw = {"username": self.auth[0], "password": self.auth[1]} if self.auth else {}
        return MongoClient(self.uri(), directConnection=True, serverSelectionTimeoutMS=10000, **kw)


class OsmemServer(Server):
    def __init__(self, tmp: Path) -> None:
        super().__init__("osmem", tmp)

    def args(self) -> list[str]:
        from osmem_server import resolve_binary

        return [resolve_binary(), "--addr", f"127.0.0.1:{self.port}", "--no-stdin-watch", "--no-ja"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class BasicAuthProxy(Server):
    """tests/basic_auth_proxy.py in front of ``upstream``: a server behind basic auth
    (Elasticsearch with security on). The credentials may hold any characters; ``set_password``
    changes the password for the next request."""

    def __init__(self, tmp: Path, upstream: str, user: str, password: str) -> None:
        super().__init__("auth-proxy", tmp)
        self.upstream = upstream
        self.user = user
        self.password_file = tmp / "auth-proxy-password"
        self.set_password(password)

    def set_password(self, password: str) -> None:
        self.password = password
        self.password_file.write_text(password, encoding="utf-8")

    def args(self) -> list[str]:
        return [sys.executable, "-m", "tests.basic_auth_proxy", "--port", str(self.port), "--upstream", self.upstream]

    def env(self) -> dict[str, str]:
        return {"PROXY_USER": self.user, "PROXY_PASSWORD_FILE": str(self.password_file)}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
