"""HTTP endpoints: /metrics, /probe, /-/healthy, /-/ready and the status page at /."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import ssl
import time
from collections.abc import Awaitable, Callable

import bcrypt
from aiohttp import web

from . import __version__
from .collector import render
from .config import Settings
from .engine import Engine, ProbeResult
from .redact import redact

log = logging.getLogger("lucid_exporter.server")

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def scrape_budget(request: web.Request, settings: Settings) -> float:
    """Seconds the probes may take: the scrape timeout less an offset for rendering.

    A missing or malformed header falls back to the configured default; a tiny one still
    leaves the probes a few milliseconds, so the scrape answers (with timeouts) in time.
    """
    p = settings.probes
    raw = request.headers.get(SCRAPE_TIMEOUT_HEADER)
    timeout = p.default_scrape_timeout_seconds
    if raw is not None:
        try:
            value = float(raw)
            if value > 0 and value == value and value != float("inf"):
                timeout = value
        except ValueError:
            pass
    return max(0.05, timeout - p.scrape_timeout_offset_seconds)


class _BasicAuth:
    """bcrypt is deliberately slow; remember verified credentials (by digest) for a while."""

    def __init__(self, users: dict[str, bytes]) -> None:
        self.users = users
        self._ok: dict[str, float] = {}

    def check(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        hashed = self.users.get(user)
        if hashed is None:
            return False
        key = hashlib.sha256(header.encode() + hashed).hexdigest()
        now = time.monotonic()
        if self._ok.get(key, 0) > now:
            return True
        try:
            ok = bcrypt.checkpw(password.encode("utf-8"), hashed)
        except ValueError:
            return False
        if ok:
            if len(self._ok) > 1000:
                self._ok.clear()
            self._ok[key] = now + 300
        return ok


def make_app(engine: Engine, settings: Settings) -> web.Application:
    middlewares = []
    users = {u: h.get_secret_value().encode() for u, h in settings.web.basic_auth_users.items()}
    if users:
        auth = _BasicAuth(users)

        @web.middleware
        async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not auth.check(request.headers.get("Authorization")):
                return web.Response(status=401, text="Unauthorized\n",
                                    headers={"WWW-Authenticate": 'Basic realm="lucid-exporter"'})
            return await handler(request)

        middlewares.append(basic_auth)

    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    app[ENGINE] = engine
    app[SETTINGS] = settings
    in_flight = asyncio.Semaphore(settings.web.max_requests_in_flight)

    async def metrics(request: web.Request) -> web.Response:
        async with in_flight:
            rnd = await engine.collect(scrape_budget(request, settings))
        samples = [s for r in rnd.results for s in r.samples]
        samples += engine.self_samples(rnd.results)
        body, ctype = render(samples, request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": ctype})

    async def probe(request: web.Request) -> web.Response:
        target = request.query.get("target", "")
        if not target:
            return web.Response(status=400, text="missing parameter: target (a configured service or backend name)\n")
        chosen = engine.select(target)
        if not chosen:
            # Only configured names are accepted: the exporter must not fetch arbitrary URLs.
            shown = html.escape(target[:100])
            return web.Response(status=400, text=f"unknown target {shown!r}: not a configured service or "
                                "backend; see / for the configured names\n")
        async with in_flight:
            rnd = await engine.collect(scrape_budget(request, settings), chosen)
        samples = [s for r in rnd.results for s in r.samples] + engine.self_samples(rnd.results)
        body, ctype = render(samples, request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": ctype})

    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="OK\n")

    async def ready(request: web.Request) -> web.Response:
        if engine.first_round_done.is_set():
            return web.Response(text="Ready\n")
        return web.Response(status=503, text="Not ready: first probe round still running\n")

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=status_page(engine.last_results(), sorted(engine.names())),
                            content_type="text/html")

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/probe", probe)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/", index)
    return app


def status_page(results: list[ProbeResult], names: list[str]) -> str:
    now = time.time()
    rows = []
    for r in sorted(results, key=lambda r: (r.success, r.probe.kind, r.probe.target)):
        state = "ok" if r.success else "FAIL"
        rows.append(
            "<tr class='{cls}'><td>{kind}</td><td>{target}</td><td>{state}</td><td>{dur:.3f}s</td>"
            "<td>{age:.0f}s ago</td><td>{reason}</td><td>{msg}</td></tr>".format(
                cls="ok" if r.success else "fail", kind=html.escape(r.probe.kind),
                target=html.escape(r.probe.target), state=state, dur=r.duration, age=now - r.finished_at,
                reason=html.escape(r.reason), msg=html.escape(redact(r.message)))
        )
    failing = sum(1 for r in results if not r.success)
    summary = (f"{len(results)} probes, {failing} failing" if results
               else "no probe round yet: the first scrape of /metrics runs one")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>lucid-exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}tr.fail{{background:#fdd}}
tr.ok td:nth-child(3){{color:#070}}</style>
</head><body><h1>lucid-exporter {html.escape(__version__)}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/-/healthy">/-/healthy</a> · <a href="/-/ready">/-/ready</a></p>
<p>{summary}</p>
<table><tr><th>probe</th><th>target</th><th>state</th><th>duration</th><th>last run</th><th>reason</th>
<th>error</th></tr>
{"".join(rows)}
</table>
<h2>/probe targets</h2><p>{", ".join(html.escape(n) for n in names)}</p>
</body></html>
"""


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    w = settings.web
    if w.tls_cert_file is None or w.tls_key_file is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(w.tls_cert_file), str(w.tls_key_file))
    return ctx


async def serve(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    app = make_app(engine, settings)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.web.host, settings.web.port, ssl_context=ssl_context(settings))
    await site.start()
    log.info("listening", extra={"address": settings.web.listen_address,
                                 "tls": settings.web.tls_cert_file is not None, "probes": len(engine.probes)})

    async def first_round() -> None:
        try:
            await engine.collect(settings.probes.default_scrape_timeout_seconds)
        except Exception as e:  # readiness must not die with one bad round
            log.error("first probe round failed: %s", e)

    warm = asyncio.create_task(first_round())
    try:
        await stop.wait()
    finally:
        warm.cancel()
        await runner.cleanup()
        await engine.close()
