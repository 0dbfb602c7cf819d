"""The Lucid service catalogue, as data.

One row per service of the troubleshooting guide. Addresses use the container name on
the compose network with the guide's port: the guide gives the same localhost port to
two or three services (8083, 8084, 8085, 8086, 8087, 8088, 8089, 8090), which only works
because each service is reached by its own container name. Every row can be overridden,
and new services added, under ``services:`` in the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from yarl import URL

from .config import ServiceConfig, Settings
from .urls import BasicCredentials

HealthKind = Literal["http", "tcp", "none"]

# The ten clusters of the guide, in its order.
CLUSTERS: tuple[str, ...] = (
    "foundation", "auth", "gateway", "blockchain", "sessions", "rdp", "nodes", "admin", "tron", "system",
)


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    cluster: str
    container: str
    url: str
    health_path: str
    health: HealthKind
    # From the configured URL's user:password (the url above never holds them): basic auth.
    credentials: BasicCredentials | None = None

    @property
    def health_url(self) -> str:
        return str(URL(self.url).with_path(self.health_path))

    @property
    def host(self) -> str:
        return URL(self.url).host or ""

    @property
    def port(self) -> int:
        return URL(self.url).port or 0


# name, cluster, port, health kind, health path. Container is "lucid-" + name.
_CATALOGUE: tuple[tuple[str, str, int, HealthKind, str], ...] = (
    # Foundation: no HTTP health for MongoDB and Redis; their own probes go deeper.
    ("mongodb", "foundation", 27017, "tcp", ""),
    ("redis", "foundation", 6379, "tcp", ""),
    ("elasticsearch", "foundation", 9200, "http", "/_cluster/health"),
    ("auth-service", "auth", 8089, "http", "/health"),
    ("api-gateway", "gateway", 8080, "http", "/health"),
    # The guide names a rate-limiter container (docker logs) but gives it no port.
    ("rate-limiter", "gateway", 0, "none", ""),
    ("blockchain-engine", "blockchain", 8084, "http", "/health"),
    ("session-anchoring", "blockchain", 8085, "http", "/health"),
    ("session-pipeline", "sessions", 8083, "http", "/health"),
    ("session-recorder", "sessions", 8084, "http", "/health"),
    ("chunk-processor", "sessions", 8085, "http", "/health"),
    ("session-storage", "sessions", 8086, "http", "/health"),
    ("session-api", "sessions", 8087, "http", "/health"),
    ("rdp-manager", "rdp", 8090, "http", "/health"),
    ("xrdp", "rdp", 8091, "http", "/health"),
    ("session-controller", "rdp", 8092, "http", "/health"),
    ("resource-monitor", "rdp", 8093, "http", "/health"),
    ("node-management", "nodes", 8095, "http", "/health"),
    ("admin-interface", "admin", 8083, "http", "/health"),
    ("tron-client", "tron", 8085, "http", "/health"),
    ("payout-router", "tron", 8086, "http", "/health"),
    ("wallet-manager", "tron", 8087, "http", "/health"),
    ("usdt-manager", "tron", 8088, "http", "/health"),
    ("trx-staking", "tron", 8089, "http", "/health"),
    ("payment-gateway", "tron", 8090, "http", "/health"),
)


def default_catalogue() -> dict[str, Service]:
    out: dict[str, Service] = {}
    for name, cluster, port, health, path in _CATALOGUE:
        scheme = "http" if health == "http" else "tcp"
        url = f"{scheme}://lucid-{name}:{port}" if port else ""
        out[name] = Service(name, cluster, f"lucid-{name}", url, path, health)
    return out


class CatalogueError(ValueError):
    pass


def build(settings: Settings) -> dict[str, Service]:
    """The catalogue with the config's overrides applied; disabled services removed."""
    services = default_catalogue()
    problems: list[str] = []
    for name, override in settings.services.items():
        base = services.get(name)
        merged = _new_service(name, override, problems) if base is None else _apply(base, override)
        if merged is None:
            continue
        if not override.enabled:
            services.pop(name, None)
            continue
        if merged.cluster not in CLUSTERS:
            problems.append(f"services.{name}.cluster: must be one of {', '.join(CLUSTERS)}")
        services[name] = merged
    if problems:
        raise CatalogueError("\n".join(problems))
    return services


def _apply(base: Service, o: ServiceConfig) -> Service:
    url = o.url.public if o.url is not None else base.url
    health = o.health or base.health
    if o.url is not None and o.health is None and base.health != "none":
        health = "tcp" if url.startswith("tcp://") else "http"
    return Service(
        name=base.name,
        cluster=o.cluster or base.cluster,
        container=o.container or base.container,
        url=url,
        health_path=o.health_path if o.health_path is not None else (base.health_path or "/health"),
        health=health,
        credentials=o.url.credentials if o.url is not None else base.credentials,
    )


def _new_service(name: str, o: ServiceConfig, problems: list[str]) -> Service | None:
    if not o.enabled:
        return None
    if o.cluster is None:
        problems.append(f"services.{name}: a service not in the catalogue needs a cluster")
        return None
    url = o.url.public if o.url is not None else ""
    health: HealthKind = o.health or ("none" if not url else "tcp" if url.startswith("tcp://") else "http")
    if health != "none" and not url:
        problems.append(f"services.{name}.url: required for a {health} health check")
        return None
    return Service(name, o.cluster, o.container or f"lucid-{name}", url, o.health_path or "/health", health,
                   o.url.credentials if o.url is not None else None)


def shared_addresses(services: dict[str, Service]) -> list[tuple[str, list[str]]]:
    """Addresses claimed by more than one service: almost always a copy-paste mistake."""
    by_addr: dict[str, list[str]] = {}
    for s in services.values():
        if s.url:
            by_addr.setdefault(s.url, []).append(s.name)
    return [(a, sorted(n)) for a, n in sorted(by_addr.items()) if len(n) > 1]
