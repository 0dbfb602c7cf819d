"""Name resolution for the shared HTTP pool: one lookup per name at a time, failures remembered.

aiohttp's default resolver calls getaddrinfo() in a thread for every new connection. When the
name server does not answer, each call holds a thread for the resolver's whole retry cycle
(seconds), and with collect-on-scrape every scrape would start another one per status check:
the threads pile up and every other probe's lookups queue behind them. Here a name being
looked up is waited for, not asked again, and a failed name is not asked again for a few
seconds (the answer would be the same).
"""

from __future__ import annotations

import asyncio
import socket
import time

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

Key = tuple[str, int, int]


class SharedResolver(AbstractResolver):
    def __init__(self, negative_ttl: float = 5.0) -> None:
        self._inner = ThreadedResolver()
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
            fut = asyncio.ensure_future(self._inner.resolve(host, port, family))
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

    async def close(self) -> None:
        for fut in self._in_flight.values():
            fut.cancel()
        await self._inner.close()
