"""Lucid JSON status checks: one probe per check of the active API profile (catalogue/checks/).

Each check is one read-only request; its reply's fields become metrics through the extractions of
lucid_exporter/checks.py. The gateway's rate-limit and CORS checks (probes/gateway.py) and the auth
service's token verification (probes/auth_verify.py) are checks of their own kinds, built from the
same check list.
"""

from __future__ import annotations

import logging

from yarl import URL

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
            self.url = str(URL(service.url).with_path(check.path.split("?")[0])
                           .with_query(check.path.split("?", 1)[1] if "?" in check.path else None))
            self.auth = service.credentials

    @property
    def selectors(self) -> frozenset[str]:
        return frozenset({self.target, self.check.service, self.check.name})

    def http_requests(self, settings: Settings) -> list[tuple[str, int]]:
        return [(self.url, 1)]

    async def get(self, ctx: ProbeContext, headers: dict[str, str] | None = None, method: str = "") -> Reply:
        """One request of this check to its URL, with its credentials."""
        return await request(ctx, method or self.check.method, self.url,
                             headers=self._headers(ctx) if headers is None else headers, auth=self.auth)

    def _headers(self, ctx: ProbeContext) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.check.headers}
        token = ctx.settings.status.token
        if self.check.auth == "token" and token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return headers


class StatusProbe(CheckProbe):
    """A JSON check: fields of the reply become metrics."""

    def failure_samples(self, reason: str) -> list[Sample]:
        if self.check.ok_metric:
            return [gauge(self.check.ok_metric, 0, OK_HELP)]
        return []

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        reply = await self.get(ctx)
        if reply.status in (401, 403):
            if self.check.ok_metric:
                return [gauge(self.check.ok_metric, 0, OK_HELP)]
            raise ProbeError("auth", f"{self.check.name} answered HTTP {reply.status}")
        if not 200 <= reply.status < 300:
            raise ProbeError("http_status", f"{self.check.name} answered HTTP {reply.status}")
        data = reply.json()
        samples, problems = extract_all(self.check, data, default_cap=ctx.settings.status.per_node_series_cap,
                                        wallets=ctx.settings.status.wallets)
        if self.check.ok_metric:
            samples.append(gauge(self.check.ok_metric, 1, OK_HELP))
        if problems:
            raise ProbeError("parse", f"{self.check.name}: reply of unexpected shape: " + "; ".join(problems[:3]),
                             samples)
        return samples


def resolve_checks(settings: Settings, services: dict[str, Service]) -> list[Check]:
    """The profile's checks with the config's overrides; CatalogueError on a bad override (a check
    naming a service that is neither in the catalogue nor in the config is an error, not dropped)."""
    checks, problems = merge(profile_checks(), settings.checks)
    from .. import inventory

    known = set(inventory.default_catalogue()) | set(settings.services)
    for c in checks:
        if c.service not in known:
            problems.append(f"checks.{c.name}.service: unknown service {c.service!r}")
    if problems:
        raise CatalogueError("\n".join(problems))
    return checks


def runnable(settings: Settings, services: dict[str, Service], kind: str) -> list[tuple[Check, Service | None]]:
    """The checks of one kind that can run: enabled, with their token, their service present."""
    if not settings.status.enabled:
        return []
    out: list[tuple[Check, Service | None]] = []
    for check in resolve_checks(settings, services):
        if check.kind != kind:
            continue
        if check.auth == "token" and settings.status.token is None:
            log.debug("check %s skipped: no status.token configured", check.name)
            continue
        service = services.get(check.service)
        # A check follows its service: a disabled (or TCP-only) service takes its checks with it.
        if not check.url and (service is None or (check.base == "service" and not service.url.startswith("http"))):
            continue
        out.append((check, service))
    return out


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    return [StatusProbe(c, s, settings) for c, s in runnable(settings, services, "json")]
