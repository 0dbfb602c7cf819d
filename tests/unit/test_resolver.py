"""Name lookups of the HTTP pool: one at a time per name, failures remembered briefly."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from lucid_exporter.resolver import SharedResolver


class _Counting:
    def __init__(self, delay: float, fail: bool) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[Any]:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail:
            raise OSError(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": family, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


async def test_concurrent_lookups_of_one_name_share_one_call() -> None:
    r = SharedResolver()
    inner = _Counting(0.1, fail=False)
    r._lookup = inner.resolve  # type: ignore[method-assign]
    results = await asyncio.gather(*(r.resolve("lucid-auth-service", 8089) for _ in range(20)))
    assert inner.calls == 1 and all(res[0]["host"] == "127.0.0.1" for res in results)


async def test_a_failed_name_is_not_asked_again_within_the_negative_ttl() -> None:
    r = SharedResolver(negative_ttl=60)
    inner = _Counting(0.0, fail=True)
    r._lookup = inner.resolve  # type: ignore[method-assign]
    for _ in range(5):
        with pytest.raises(OSError):
            await r.resolve("lucid-nowhere", 80)
    assert inner.calls == 1


async def test_a_caller_that_gives_up_does_not_cancel_the_lookup_for_others() -> None:
    r = SharedResolver()
    inner = _Counting(0.2, fail=False)
    r._lookup = inner.resolve  # type: ignore[method-assign]
    impatient = asyncio.ensure_future(asyncio.wait_for(r.resolve("lucid-redis", 6379), 0.05))
    patient = asyncio.ensure_future(r.resolve("lucid-redis", 6379))
    with pytest.raises(TimeoutError):
        await impatient
    assert (await patient)[0]["hostname"] == "lucid-redis"
    assert inner.calls == 1
