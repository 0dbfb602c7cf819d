"""Lucid JSON status checks: one probe per check of the active API profile (catalogue/checks/).

Each check is one read-only request; its reply's fields become metrics through the extractions of
lucid_exporter/checks.py. The gateway's rate-limit and CORS checks (probes/gateway.py) and the auth
service's token verification (probes/auth_verify.py) are checks of their own kinds, built from the
same check list. A check the profile marks unavailable (no such endpoint in that API) is not run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from urllib.parse import quote

from yarl import URL

from ..catalogue.models import WALLET
from ..checks import Check, extract_all, merge, profile_checks
from ..config import Settings
from ..errors import ProbeError
from ..inventory import CatalogueError, Service
from ..metrics import Sample, gauge
from ..urls import BasicCredentials
from .base import Probe, ProbeContext
from .httpget import Reply, request

log = logging.getLogger("lucid_exporter.probes.status")
OK_HELP = "1 when the monitoring token can read it"
# The blockchain API's route dependency demands a bearer header of any value when the key is sent in
# api-key; a value that is not its JWT makes it log one "Token verification failed" line per request
# (status.blockchain_token avoids that).
BLOCKCHAIN_PLACEHOLDER_BEARER = "lucid-exporter"


class CheckProbe(Probe):
    """One check against its service (or TronGrid, or an absolute URL)."""

    kind = "lucid_status"

    def __init__(self, check: Check, service: Service | None, settings: Settings) -> None:
        self.check = check
        self.service = service
        self.target = f"{check.service}/{check.name}"
        st = settings.status
        self.min_interval = st.min_interval_seconds
        # Basic auth from the base URL's user:password (never part of self.url); a check's own
        # Authorization header (the monitoring token) wins over it.
        self.auth: BasicCredentials | None = None
        if check.url:
            self.url = check.url
        elif check.base == "trongrid":
            self.url = str(URL(st.trongrid_url.public.rstrip("/") + check.path))
            self.auth = st.trongrid_url.credentials
        else:
            assert service is not None
            self.url = self._service_url(service, check.path)
            self.auth = service.credentials
        self.profile = st.profile

    @staticmethod
    def _service_url(service: Service, path: str, encoded: bool = False) -> str:
        route, _, query = path.partition("?")
        return str(URL(service.url).with_path(route, encoded=encoded).with_query(query or None))

    def wallet_url(self, wallet: str) -> str:
        """The URL of a per-wallet check for one address (quoted: an address is not a path)."""
        head, _, tail = self.check.path.partition(WALLET)
        path = quote(head, safe="/?=&") + quote(wallet, safe="") + quote(tail, safe="/?=&")
        if self.check.base == "trongrid" or self.service is None:
            return self.url.replace(quote(WALLET, safe=""), quote(wallet, safe=""))
        return self._service_url(self.service, path, encoded=True)

    @property
    def selectors(self) -> frozenset[str]:
        return frozenset({self.target, self.check.service, self.check.name})

    def http_requests(self, settings: Settings) -> list[tuple[str, int]]:
        if self.check.per_wallet:
            # One request per wallet, all at once (StatusProbe._per_wallet).
            return [(self.wallet_url(w), 1) for w in settings.status.wallets]
        return [(self.url, 1)]

    async def get(self, ctx: ProbeContext, headers: dict[str, str] | None = None, method: str = "",
                  url: str = "") -> Reply:
        """One request of this check to its URL, with its credentials."""
        return await request(ctx, method or self.check.method, url or self.url,
                             headers=self._headers(ctx) if headers is None else headers, auth=self.auth)

    def _headers(self, ctx: ProbeContext) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.check.headers}
        st = ctx.settings.status
        if self.check.auth == "token" and st.token is not None:
            headers["Authorization"] = f"Bearer {st.token.get_secret_value()}"
        if self.check.auth == "blockchain":
            # Two layers (blockchain/api/app): the middleware takes a JWT bearer or X-API-Key, the route
            # dependency demands a bearer header and takes the key only from api-key.
            bearer = st.blockchain_token.get_secret_value() if st.blockchain_token else BLOCKCHAIN_PLACEHOLDER_BEARER
            headers["Authorization"] = f"Bearer {bearer}"
            if st.blockchain_api_key is not None:
                key = st.blockchain_api_key.get_secret_value()
                headers["X-API-Key"] = key
                headers["api-key"] = key
        return headers


class StatusProbe(CheckProbe):
    """A JSON check: fields of the reply become metrics."""

    def failure_samples(self, reason: str) -> list[Sample]:
        if self.check.ok_metric:
            return [gauge(self.check.ok_metric, 0, OK_HELP)]
        return []

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        if self.check.per_wallet:
            return await self._per_wallet(ctx)
        samples, problem = await self._one(ctx, self.url)
        if problem is not None:
            raise ProbeError(problem[0], problem[1], samples)
        return samples

    async def _one(self, ctx: ProbeContext, url: str,
                   labels: dict[str, str] | None = None) -> tuple[list[Sample], tuple[str, str] | None]:
        """One request and its samples, and (reason, message) when it failed."""
        reply = await self.get(ctx, url=url)
        if reply.status in (401, 403):
            if self.check.ok_metric:
                return [gauge(self.check.ok_metric, 0, OK_HELP)], None
            return [], ("auth", f"{self.check.name} answered HTTP {reply.status}")
        if not 200 <= reply.status < 300:
            return [], ("http_status", f"{self.check.name} answered HTTP {reply.status}{self._hint(reply.status)}")
        data = reply.json()
        samples, problems = extract_all(self.check, data, default_cap=ctx.settings.status.per_node_series_cap,
                                        wallets=ctx.settings.status.wallets)
        if labels:
            samples = [replace(s, labels={**s.labels, **labels}) for s in samples]
        if self.check.ok_metric:
            samples.append(gauge(self.check.ok_metric, 1, OK_HELP))
        if problems:
            return samples, ("parse", f"{self.check.name}: reply of unexpected shape: " + "; ".join(problems[:3]))
        return samples, None

    async def _per_wallet(self, ctx: ProbeContext) -> list[Sample]:
        """One request per wallet of status.wallets (the real USDT manager answers one address at a time)."""
        wallets = list(ctx.settings.status.wallets)
        results = await asyncio.gather(*(self._one(ctx, self.wallet_url(w), {"wallet": w}) for w in wallets))
        samples = [s for r, _ in results for s in r]
        failed = [(w, p) for w, (_, p) in zip(wallets, results, strict=True) if p is not None]
        if failed:
            reason, message = failed[0][1]
            more = f" (and {len(failed) - 1} more wallets)" if len(failed) > 1 else ""
            raise ProbeError(reason, f"{message} for one wallet{more}", samples)
        return samples

    def _hint(self, status: int) -> str:
        """On a 404 under the guide profile, where the real Lucid code answers instead."""
        if status != 404 or self.profile != "guide":
            return ""
        real = {c.name: c for c in profile_checks("lucid")}.get(self.check.name)
        if real is None:
            return ""
        if real.unavailable:
            return " (the real Lucid code has no such endpoint; docs/status-checks.md)"
        if real.path != self.check.path:
            return f" (the real Lucid code answers at {real.path}: status.profile: lucid)"
        return ""


def resolve_checks(settings: Settings, services: dict[str, Service]) -> list[Check]:
    """The profile's checks with the config's overrides; CatalogueError on a bad override (a check
    naming a service that is neither in the catalogue nor in the config is an error, not dropped)."""
    checks, problems = merge(profile_checks(settings.status.profile), settings.checks)
    from .. import inventory

    known = set(inventory.default_catalogue(settings.status.profile)) | set(settings.services)
    for c in checks:
        if c.service not in known and not c.unavailable:
            problems.append(f"checks.{c.name}.service: unknown service {c.service!r}")
    if problems:
        raise CatalogueError("\n".join(problems))
    return checks


def missing_input(settings: Settings, check: Check) -> str:
    """What a check lacks to run (a credential, the wallets it asks about), or ""."""
    st = settings.status
    if check.auth == "token" and st.token is None:
        return "status.token is not set"
    if check.auth == "blockchain" and st.blockchain_api_key is None and st.blockchain_token is None:
        return ("status.blockchain_api_key (or status.blockchain_token) is not set: the blockchain API answers "
                "HTTP 500 without credentials")
    if check.per_wallet and not st.wallets:
        return "status.wallets is empty"
    return ""


def not_run(settings: Settings, services: dict[str, Service]) -> list[tuple[Check, str]]:
    """The profile's available checks that are not run for want of an input (doctor lists them)."""
    if not settings.status.enabled:
        return []
    out = []
    for check in resolve_checks(settings, services):
        why = "" if check.unavailable else missing_input(settings, check)
        if why and check.service in services:
            out.append((check, why))
    return out


def runnable(settings: Settings, services: dict[str, Service], kind: str,
             unavailable: bool = False) -> list[tuple[Check, Service | None]]:
    """The checks of one kind that can run: enabled, available in the profile (or, with
    ``unavailable``, only the unavailable ones), with their credentials, their service present."""
    if not settings.status.enabled:
        return []
    out: list[tuple[Check, Service | None]] = []
    for check in resolve_checks(settings, services):
        if check.kind != kind or bool(check.unavailable) != unavailable:
            continue
        why = missing_input(settings, check)
        if why:
            log.log(logging.INFO if check.auth == "blockchain" else logging.DEBUG, "check not run",
                    extra={"check": check.name, "why": why})
            continue
        service = services.get(check.service)
        # A check follows its service: a disabled (or TCP-only) service takes its checks with it.
        if not check.url and (service is None or (check.base == "service" and not service.url.startswith("http"))):
            continue
        out.append((check, service))
    return out


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    return [StatusProbe(c, s, settings) for c, s in runnable(settings, services, "json")]
