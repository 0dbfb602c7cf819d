"""HTTP endpoints: /metrics, /probe, /-/healthy, /-/ready and the status page at /.

Policies, in the order a request meets them:

- TLS and basic auth follow the exporter-toolkit web configuration (``--web.config.file``).
  ``/-/healthy`` and ``/-/ready`` answer without basic auth, like a load balancer's or the
  container HEALTHCHECK's probe needs (a bcrypt hash cannot be turned back into the password
  the probe would have to send); they say nothing but "OK" and "Ready". Under TLS they are
  served over TLS like every other path.
- Basic auth never blocks the event loop: bcrypt runs in a small thread pool, each outcome is
  remembered by a keyed digest of the presented credentials (a legitimate scraper pays for
  bcrypt once), an unknown user costs one verification against a dummy hash of the same cost
  (the time does not tell which user names exist), and the verifications are bounded: a few
  workers, a short queue, and a limit on failed attempts per client address, past which a
  client is answered 429 without any work.
- The scrape budget counts from the request's arrival. A request past the in-flight limit
  waits for a slot only within its budget, then gets the cached results (503 when nothing is
  cached yet): a queue of scrapes can never push a reply past its scrape timeout.
- A malformed request (a request line over 8 KB) is one WARN line, rate-limited.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import functools
import gc
import hashlib
import hmac
import html
import linecache
import logging
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from . import __version__
from .collector import prepare, render_lines
from .config import CIPHER_SUITES, TLS_VERSIONS, Settings, TLSServerConfig, WebConfig
from .engine import Engine, ProbeResult
from .metrics import gauge
from .probes.base import Probe
from .redact import redact

log = logging.getLogger("lucid_exporter.server")

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
ARRIVAL: web.RequestKey[float] = web.RequestKey("arrival", float)  # loop time the request reached the app
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN_PATHS = frozenset({"/-/healthy", "/-/ready"})  # no basic auth: liveness and readiness only
MIN_PROBE_BUDGET = 0.1  # below this, a scrape that waited for a slot is served from the cache
GZIP_MIN_BYTES = 1024  # a smaller exposition gains nothing from gzip


def gzip_accepted(accept_encoding: str | None) -> bool:
    """Whether the scraper takes gzip (Prometheus sends ``Accept-Encoding: gzip``); ``q=0`` refuses."""
    for part in (accept_encoding or "").split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def gzip_body(body: bytes) -> bytes:
    """gzip at zlib's default level: 160 KB of exposition (250 services) become 6 KB in about
    0.4 ms; the exposition repeats itself so much that the fastest level saves little CPU and
    gives a fifth more bytes. No file name and no time in the header: the same body, the same bytes."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    return z.compress(body) + z.flush()


def scrape_timeout(request: web.Request, settings: Settings) -> float:
    """The scraper's timeout: X-Prometheus-Scrape-Timeout-Seconds, or the configured default when
    the header is missing or malformed."""
    raw = request.headers.get(SCRAPE_TIMEOUT_HEADER)
    if raw is not None:
        try:
            value = float(raw)
            if value > 0 and value == value and value != float("inf"):
                return value
        except ValueError:
            pass
    return settings.probes.default_scrape_timeout_seconds


def scrape_budget(request: web.Request, settings: Settings) -> float:
    """Seconds the scrape may take from its arrival: the scrape timeout less an offset for rendering.

    A tiny timeout still leaves the probes a few milliseconds, so the scrape answers (with
    timeouts) in time.
    """
    return max(0.05, scrape_timeout(request, settings) - settings.probes.scrape_timeout_offset_seconds)


# ---------------------------------------------------------------- basic auth

Verdict = Literal["ok", "denied", "throttled"]


def _bcrypt_cost(hashed: bytes) -> int:
    try:
        return int(hashed.split(b"$")[2])
    except (IndexError, ValueError):
        return 10


def _lowest_cpu_priority() -> None:
    """bcrypt threads yield the CPU to the event loop: on a busy host a flood of logins slows
    the logins, not the scrapes of a client whose credentials are already verified. (Linux
    gives each thread its own nice value; elsewhere this is a no-op.)"""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _verify(password: bytes, hashed: bytes) -> bool:
    import bcrypt  # only with basic auth on (and imported by BasicAuth before any request)

    try:
        return bool(bcrypt.checkpw(password, hashed))
    except ValueError:  # a malformed hash (refused at load) or a password bcrypt cannot take
        return False


class BasicAuth:
    """Basic auth against bcrypt hashes, off the event loop and bounded (see the module doc)."""

    def __init__(self, users: dict[str, bytes], web_cfg: WebConfig) -> None:
        self.users = users
        self.cfg = web_cfg
        self._pool = ThreadPoolExecutor(max_workers=web_cfg.basic_auth_workers, thread_name_prefix="lucid-bcrypt",
                                        initializer=_lowest_cpu_priority)
        self._digest_key = os.urandom(32)
        self._cache: collections.OrderedDict[bytes, bool] = collections.OrderedDict()
        self._running: dict[bytes, asyncio.Future[bool]] = {}
        self._pending = 0
        self._pending_by_client: collections.Counter[str] = collections.Counter()
        self._failures: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()
        # The unknown-user path verifies against this: same cost as the dearest real hash.
        cost = max((_bcrypt_cost(h) for h in users.values()), default=10)
        import bcrypt  # only with basic auth on: no import otherwise

        self._dummy = self._pool.submit(lambda: bcrypt.hashpw(os.urandom(16), bcrypt.gensalt(rounds=cost)))
        self.verifications = 0  # bcrypt runs so far (tests and benchmarks read it)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _digest(self, header: str) -> bytes:
        return hmac.new(self._digest_key, header.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()

    def _throttled(self, client: str, now: float) -> bool:
        """Failures in the window, plus verifications still running for this client (each may
        fail), at the limit: a client cannot queue more bcrypt work than it may fail."""
        window = self._failures.get(client)
        failed = 0
        if window is not None:
            horizon = now - self.cfg.basic_auth_failure_window_seconds
            while window and window[0] < horizon:
                window.popleft()
            failed = len(window)
        return failed + self._pending_by_client[client] >= self.cfg.basic_auth_max_failures

    def _record_failure(self, client: str, now: float) -> None:
        window = self._failures.pop(client, None) or collections.deque(maxlen=self.cfg.basic_auth_max_failures)
        window.append(now)
        self._failures[client] = window
        while len(self._failures) > 4096:  # bounded memory whatever the number of addresses
            self._failures.popitem(last=False)

    def _remember(self, digest: bytes, ok: bool) -> None:
        self._cache[digest] = ok
        self._cache.move_to_end(digest)
        while len(self._cache) > self.cfg.basic_auth_cache_size:
            self._cache.popitem(last=False)

    async def check(self, header: str | None, client: str) -> Verdict:
        if not header or not header.startswith("Basic "):
            return "denied"
        digest = self._digest(header)
        known = self._cache.get(digest)
        if known is not None:
            # A cached outcome costs nothing: a legitimate scraper is never throttled here.
            self._cache.move_to_end(digest)
            return "ok" if known else "denied"
        now = time.monotonic()
        if self._throttled(client, now):
            return "throttled"
        try:
            user, sep, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return "denied"
        if not sep:
            return "denied"
        running = self._running.get(digest)
        if running is None:
            if self._pending >= self.cfg.basic_auth_max_pending:
                return "throttled"
            running = asyncio.ensure_future(self._verify(user, password.encode("utf-8")))
            self._running[digest] = running
            self._pending += 1
            self._pending_by_client[client] += 1
            running.add_done_callback(lambda _: self._done(digest, client))
        ok = await asyncio.shield(running)
        if not ok:
            self._record_failure(client, time.monotonic())
        return "ok" if ok else "denied"

    def _done(self, digest: bytes, client: str) -> None:
        self._pending -= 1
        self._pending_by_client[client] -= 1
        if self._pending_by_client[client] <= 0:
            del self._pending_by_client[client]
        fut = self._running.pop(digest, None)
        if fut is not None and not fut.cancelled() and fut.exception() is None:
            self._remember(digest, fut.result())

    async def _verify(self, user: str, password: bytes) -> bool:
        loop = asyncio.get_running_loop()
        hashed = self.users.get(user)
        if hashed is None:
            dummy = await asyncio.wrap_future(self._dummy)
            await loop.run_in_executor(self._pool, _verify, password, dummy)
            self.verifications += 1
            return False
        ok = await loop.run_in_executor(self._pool, _verify, password, hashed)
        self.verifications += 1
        return ok


BASIC_AUTH: web.AppKey[BasicAuth] = web.AppKey("basic_auth", BasicAuth)


# ---------------------------------------------------------------- malformed requests


class MalformedRequestLog(logging.Filter):
    """aiohttp logs every malformed request (a request line over 8 KB, broken headers) as an
    ERROR with a traceback: anyone could flood the log. One WARN line per ``interval`` instead,
    saying how many more were refused since."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self.interval = interval
        self._next = 0.0
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        now = time.monotonic()
        if now < self._next:
            self._suppressed += 1
            return False
        self._next = now + self.interval
        client = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg, record.args = "malformed request refused (HTTP 400)", ()
        record.exc_info, record.exc_text = None, None
        record.error = type(exc).__name__
        record.client = str(client)
        record.refused_since_last = self._suppressed
        self._suppressed = 0
        return True


# ---------------------------------------------------------------- the application


def _client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def make_app(engine: Engine, settings: Settings) -> web.Application:
    w = settings.web
    middlewares: list[Middleware] = []

    @web.middleware
    async def arrival(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[ARRIVAL] = asyncio.get_running_loop().time()
        return await handler(request)

    middlewares.append(arrival)

    tls = w.tls
    if tls is not None and tls.client_allowed_sans:
        allowed = set(tls.client_allowed_sans)

        @web.middleware
        async def client_sans(request: web.Request, handler: Handler) -> web.StreamResponse:
            cert = request.transport.get_extra_info("peercert") if request.transport else None
            sans = {str(v) for _, v in (cert or {}).get("subjectAltName", ())}
            if not sans & allowed:
                return web.Response(status=403, text="Forbidden: client certificate not allowed\n")
            return await handler(request)

        middlewares.append(client_sans)

    users = {u: h.get_secret_value().encode() for u, h in w.basic_auth_users.items()}
    auth = BasicAuth(users, w) if users else None
    if auth is not None:

        @web.middleware
        async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path in OPEN_PATHS:
                return await handler(request)
            verdict = await auth.check(request.headers.get("Authorization"), _client_address(request))
            if verdict == "throttled":
                return web.Response(status=429, text="Too Many Requests: too many failed logins\n",
                                    headers={"Retry-After": str(int(w.basic_auth_failure_window_seconds))})
            if verdict != "ok":
                return web.Response(status=401, text="Unauthorized\n",
                                    headers={"WWW-Authenticate": 'Basic realm="lucid-exporter"'})
            return await handler(request)

        middlewares.append(basic_auth)

    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    app[ENGINE] = engine
    app[SETTINGS] = settings
    if auth is not None:
        app[BASIC_AUTH] = auth

        async def close_auth(_: web.Application) -> None:
            auth.close()

        app.on_cleanup.append(close_auth)
    extra_headers = {str(k): v for k, v in w.http_server_config.headers.items()}
    if extra_headers:

        async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
            response.headers.update(extra_headers)

        app.on_response_prepare.append(add_headers)
    in_flight = asyncio.Semaphore(w.max_requests_in_flight)

    async def samples_for(request: web.Request, chosen: list[Probe] | None) -> web.Response:
        loop = asyncio.get_running_loop()
        deadline = request.get(ARRIVAL, loop.time()) + scrape_budget(request, settings)
        got_slot = False
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time() - MIN_PROBE_BUDGET)):
                await in_flight.acquire()
                got_slot = True
        except TimeoutError:
            pass
        if got_slot:
            try:
                results = (await engine.collect(max(0.05, deadline - loop.time()), chosen)).results
            finally:
                in_flight.release()
        else:
            # Every slot was busy for the whole budget: what the last rounds found, now.
            results = engine.cached_results(chosen)
            if not results:
                return web.Response(status=503, text="Busy: every probe slot in use and nothing cached yet\n",
                                    headers={"Retry-After": "1"})
        groups = engine.exposition(results)
        # Prometheus writes scrape_timeout_seconds only with --enable-feature=extra-scrape-metrics:
        # the scrape near-timeout alert reads this one otherwise.
        groups.append(prepare([gauge("lucid_exporter_scrape_timeout_seconds", scrape_timeout(request, settings),
                                     "Timeout of this scrape (X-Prometheus-Scrape-Timeout-Seconds, or the "
                                     "configured default without it)")]))
        body, ctype = render_lines(groups, request.headers.get("Accept"))
        headers = {"Content-Type": ctype, "Vary": "Accept-Encoding"}
        if len(body) >= GZIP_MIN_BYTES and gzip_accepted(request.headers.get("Accept-Encoding")):
            body = gzip_body(body)
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)

    async def metrics(request: web.Request) -> web.Response:
        return await samples_for(request, None)

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
        return await samples_for(request, chosen)

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
                # Redacted before it is escaped: escaping would hide a secret's quotes from redact.
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


def server_ssl_context(tls: TLSServerConfig) -> ssl.SSLContext:
    """The exporter-toolkit ``tls_server_config`` as an ``ssl.SSLContext``."""
    assert tls.cert_file is not None and tls.key_file is not None  # checked at load
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = TLS_VERSIONS[tls.min_version]
    ctx.maximum_version = TLS_VERSIONS[tls.max_version]
    ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if tls.cipher_suites:
        ctx.set_ciphers(":".join(dict.fromkeys(CIPHER_SUITES[c] for c in tls.cipher_suites)))
    if tls.prefer_server_cipher_suites:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if tls.client_ca_file is not None:
        ctx.load_verify_locations(cafile=str(tls.client_ca_file))
    ctx.verify_mode = {"NoClientCert": ssl.CERT_NONE, "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
                       "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}[tls.client_auth_type]
    return ctx


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    tls = settings.web.tls
    return None if tls is None else server_ssl_context(tls)


# ---------------------------------------------------------------- the HEALTHCHECK side


def health_url(settings: Settings) -> str:
    """Where a probe on the same host reaches /-/healthy: loopback, the configured port,
    https when TLS is on."""
    w = settings.web
    host = w.listen_address.rpartition(":")[0].strip("[]")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if w.tls is not None else 'http'}://{shown}:{w.port}/-/healthy"


def check_health(settings: Settings, timeout: float = 5.0) -> tuple[bool, str]:
    """GET /-/healthy of the local exporter, as the container HEALTHCHECK does: (healthy, detail).

    No credentials are needed (the path is open under basic auth). Under TLS the certificate is
    not verified: this is a liveness check over loopback that sends nothing secret. A server
    that requires client certificates (RequireAndVerifyClientCert) cannot be checked this way.
    """
    url = health_url(settings)
    ctx = None
    if settings.web.tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as reply:
            return reply.status == 200, f"{url}: HTTP {reply.status}"
    except urllib.error.HTTPError as e:
        return False, f"{url}: HTTP {e.code}"
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        return False, f"{url}: {' '.join(str(reason).split())[:200]}"


# ---------------------------------------------------------------- serve

SETTLE_AFTER_SECONDS = 1.0
M_ARENA_MAX = -8  # glibc's mallopt parameters
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's default, kept fixed


@functools.cache
def _libc() -> Any:
    """glibc, for mallopt and malloc_trim; None elsewhere (musl, macOS): the calls are then skipped."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def tune_malloc() -> None:
    """Before any thread starts, two glibc settings that keep RSS flat:

    - at most two malloc arenas. glibc gives each thread that allocates an arena of its own (up to
      8 per core), and the name lookups of the DNS probe and of the HTTP pool run in threads: each
      arena kept the memory getaddrinfo() had freed, and RSS grew by 4 MB over 10,000 scrapes while
      the Python heap (tracemalloc) stayed flat. The threads do little: sharing costs nothing
      measurable;
    - a fixed mmap threshold. Each gzip-compressed reply allocates zlib's deflate state (~270 KB)
      and frees it; glibc raises its mmap threshold when such a block is freed, after which the
      blocks come from the heap and fragment it: +2.2 MB RSS over 4,000 gzip scrapes with the
      default, +0.1 MB with the threshold fixed (docs/performance.md, memory)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 2)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def settle_memory() -> None:
    """Once, soon after the first round: collect what start-up left behind, then freeze what
    lives on (modules, the configuration, the probes) so that no later collection walks it again:
    a full pass over start-up's objects takes tens of milliseconds, and would come back during
    scrapes. linecache holds the source of the methods attrs generates for aiohttp's classes
    (0.7 MB, only ever read to print a traceback through them): dropped. Then the memory start-up
    freed goes back to the system (malloc_trim)."""
    linecache.clearcache()
    gc.collect()
    gc.freeze()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)



async def serve(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    tune_malloc()
    app = make_app(engine, settings)
    bad_requests = MalformedRequestLog()
    logging.getLogger("aiohttp.server").addFilter(bad_requests)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.web.host, settings.web.port, ssl_context=ssl_context(settings))
        await site.start()
    except BaseException:
        await runner.cleanup()
        await engine.close()
        logging.getLogger("aiohttp.server").removeFilter(bad_requests)
        raise
    log.info("listening", extra={"address": settings.web.listen_address, "tls": settings.web.tls is not None,
                                 "basic_auth": bool(settings.web.basic_auth_users), "probes": len(engine.probes)})

    async def first_round() -> None:
        try:
            await engine.collect(settings.probes.default_scrape_timeout_seconds)
        except Exception as e:  # readiness must not die with one bad round
            log.error("first probe round failed", extra={"error": f"{type(e).__name__}: {e}"})
        asyncio.get_running_loop().call_later(SETTLE_AFTER_SECONDS, settle_memory)

    warm = asyncio.create_task(first_round())
    try:
        await stop.wait()
    finally:
        warm.cancel()
        await runner.cleanup()
        await engine.close()
        logging.getLogger("aiohttp.server").removeFilter(bad_requests)
