"""The services to watch: the catalogue's rows (catalogue/services.yaml) with the config's overrides.

Addresses use the container name on the compose network with the guide's port: the guide gives
the same localhost port to two or three services (8083, 8084, 8085, 8086, 8087, 8088, 8089, 8090),
which only works because each service is reached by its own container name. The ``lucid`` API profile
replaces them with the real compose files' names and ports (catalogue/checks/lucid.yaml). Every row
can be overridden, and new services added, under ``services:`` in the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from yarl import URL

from . import catalogue
from .config import ServiceConfig, Settings
from .urls import BasicCredentials

HealthKind = Literal["http", "tcp", "none"]


@lru_cache(maxsize=4096)
def _health_url(url: str, path: str) -> str:
    # Read on every health check of every scrape: parsed once, not per run.
    return str(URL(url).with_path(path))


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
        return _health_url(self.url, self.health_path)

    @property
    def host(self) -> str:
        return URL(self.url).host or ""

    @property
    def port(self) -> int:
        return URL(self.url).port or 0


def default_catalogue(profile: str = "guide") -> dict[str, Service]:
    """The catalogue's services as the API profile addresses them (checks/<profile>.yaml ``services:``:
    the real compose files' container names, ports and health paths for ``lucid``); a service the
    profile says does not exist (``absent``) is left out."""
    overrides = catalogue.profile(profile).services
    out: dict[str, Service] = {}
    for s in catalogue.services().values():
        o = overrides.get(s.name)
        if o is not None and o.absent:
            continue
        health = (o.health if o is not None else None) or s.health
        port = (o.port if o is not None else None) or s.port
        container = (o.container if o is not None else None) or s.container_name
        health_path = o.health_path if o is not None and o.health_path is not None else s.health_path
        scheme = "http" if health == "http" else "tcp"
        url = f"{scheme}://{container}:{port}" if port else ""
        out[s.name] = Service(s.name, s.cluster, container, url, health_path, health)
    return out


class CatalogueError(ValueError):
    pass


def build(settings: Settings) -> dict[str, Service]:
    """The catalogue (as the configured API profile addresses it) with the config's overrides applied;
    disabled services removed."""
    services = default_catalogue(settings.status.profile)
    problems: list[str] = []
    for name, override in settings.services.items():
        base = services.get(name)
        merged = _new_service(name, override, problems) if base is None else _apply(base, override)
        if merged is None:
            continue
        if not override.enabled:
            services.pop(name, None)
            continue
        clusters = catalogue.lucid_clusters()
        if merged.cluster not in clusters:
            problems.append(f"services.{name}.cluster: must be one of {', '.join(clusters)}")
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
