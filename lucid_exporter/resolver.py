"""Name resolution for the shared HTTP pool: one lookup per name at a time, failures remembered.

aiohttp's default resolver calls getaddrinfo() in a thread for every new connection. When the
name server does not answer, each call holds a thread for the resolver's whole retry cycle
(seconds), and with collect-on-scrape every scrape would start another one per status check:
the threads pile up and every other probe's lookups queue behind them. Here a name being
looked up is waited for, not asked again, and a failed name is not asked again for a few
seconds (the answer would be the same). Lookups run in the resolver's own threads, never in the
event loop's default executor, which other libraries share.
"""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp.abc import AbstractResolver, ResolveResult

Key = tuple[str, int, int]


class SharedResolver(AbstractResolver):
    def __init__(self, threads: int = 16, negative_ttl: float = 5.0) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lucid-dns")
        self._negative_ttl = negative_ttl
        self._in_flight: dict[Key, asyncio.Future[list[ResolveResult]]] = {}
        self._failed: dict[Key, tuple[float, OSError]] = {}

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        key = (host, port, int(family))
        failed = self._failed.get(key)
        if failed is not None:
            if failed[0] > time.monotonic():
                raise failed[1]
            del self._failed[key]
        fut = self._in_flight.get(key)
        if fut is None:
            fut = asyncio.ensure_future(self._lookup(host, port, family))
            self._in_flight[key] = fut
            fut.add_done_callback(lambda f: self._done(key, f))
        # shield: a caller that gives up (its probe timed out) leaves the lookup to the others.
        return await asyncio.shield(fut)

    def _done(self, key: Key, fut: asyncio.Future[list[ResolveResult]]) -> None:
        self._in_flight.pop(key, None)
        if fut.cancelled():
            return
        exc = fut.exception()
        if isinstance(exc, OSError):
            self._failed[key] = (time.monotonic() + self._negative_ttl, exc)

    async def _lookup(self, host: str, port: int, family: socket.AddressFamily) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(
            self._pool, lambda: socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, socket.AI_ADDRCONFIG))
        out: list[ResolveResult] = []
        for fam, _, proto, _, address in infos:
            if fam == socket.AF_INET6 and len(address) >= 4 and address[3]:
                continue  # link-local with a scope id: not a Lucid service address
            out.append(ResolveResult(hostname=host, host=str(address[0]), port=int(address[1]), family=fam,
                                     proto=proto, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV))
        if not out:
            raise OSError(socket.EAI_NONAME, f"no address for {host}")
        return out

    async def close(self) -> None:
        for fut in self._in_flight.values():
            fut.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
