"""Configuration: data, validated once at start-up.

Sources, highest priority first: environment variables ``LUCID_EXPORTER_*`` (nested with
``__``, for example ``LUCID_EXPORTER_REDIS__PASSWORD``), then the YAML file given with
``--config``, then the defaults below. Every secret field ``x`` also accepts ``x_file``:
the path of a file holding the secret (docker/compose secrets), read once at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from . import redact
from .catalogue.models import Extraction

DEFAULT_PORT = 10097  # see README "Port": outside the fully allocated 9100-9999 exporter range


class ConfigError(Exception):
    """An invalid configuration: one human-readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Section(BaseModel):
    """Base for config sections: unknown keys are errors (a typo must not pass silently),
    and every ``SecretStr`` field ``x`` may be given as ``x_file``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, value in data.items():
            if not key.endswith("_file"):
                continue
            target = key[: -len("_file")]
            field = cls.model_fields.get(target)
            if field is None or field.annotation not in (SecretStr, SecretStr | None):
                continue
            out.pop(key)
            if value in (None, "") or data.get(target) not in (None, ""):
                # An explicit value wins: LUCID_EXPORTER_X__PASSWORD over password_file in the file.
                continue
            path = Path(str(value))
            try:
                out[target] = path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as e:
                raise ValueError(f"{key}: cannot read secret file {path}: {e.strerror}") from None
        return out

    @model_validator(mode="after")
    def _register_secrets(self) -> Section:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                redact.register(value.get_secret_value())
        return self


class WebConfig(Section):
    listen_address: str = Field(f":{DEFAULT_PORT}", description="host:port the exporter listens on")
    tls_cert_file: Path | None = Field(None, description="PEM certificate; enables HTTPS with tls_key_file")
    tls_key_file: Path | None = Field(None, description="PEM private key")
    basic_auth_users: dict[str, SecretStr] = Field(
        default_factory=dict, description="user name -> bcrypt hash; enables basic auth on every endpoint"
    )
    max_requests_in_flight: int = Field(8, ge=1, description="concurrent /metrics and /probe requests")

    @field_validator("listen_address")
    @classmethod
    def _valid_address(cls, v: str) -> str:
        _, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port or :port with a port between 1 and 65535")
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> WebConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file must be given together")
        for f in (self.tls_cert_file, self.tls_key_file):
            if f is not None and not f.is_file():
                raise ValueError(f"TLS file {f} does not exist")
        for user, h in self.basic_auth_users.items():
            if not h.get_secret_value().startswith(("$2a$", "$2b$", "$2y$")):
                raise ValueError(f"basic_auth_users.{user}: must be a bcrypt hash ($2b$...)")
        return self

    @property
    def host(self) -> str:
        host = self.listen_address.rpartition(":")[0]
        return host.strip("[]") or "0.0.0.0"

    @property
    def port(self) -> int:
        return int(self.listen_address.rpartition(":")[2])


class ProbesConfig(Section):
    timeout_seconds: float = Field(5.0, gt=0, description="per-probe timeout, capped by the scrape budget")
    min_interval_seconds: float = Field(
        10.0, ge=0, description="results younger than this are served from cache (two Prometheus replicas)"
    )
    scrape_timeout_offset_seconds: float = Field(
        0.5, ge=0, description="kept free of X-Prometheus-Scrape-Timeout-Seconds for rendering"
    )
    default_scrape_timeout_seconds: float = Field(
        10.0, gt=0, description="budget when the scrape request has no timeout header"
    )
    max_response_bytes: int = Field(1_048_576, ge=1024, description="larger replies fail with too_large")
    concurrency: int = Field(32, ge=1, description="probes running at once")
    io_threads: int = Field(64, ge=4, description="threads for name lookups and file reads shared by the probes")


class ServiceConfig(Section):
    """Override of one catalogue entry, or a new service when the name is not in the catalogue."""

    url: str | None = Field(None, description="http(s)://host:port or tcp://host:port (default: container name "
                            "and the guide's port)")
    health_path: str | None = Field(None, description="path of the health check (default /health)")
    cluster: str | None = Field(None, description="one of the ten clusters; required for a new service")
    container: str | None = Field(None, description="container name (default lucid-<name>)")
    health: Literal["http", "tcp", "none"] | None = Field(
        None, description="http: GET health_path; tcp: connect only; none: no health check")
    enabled: bool = Field(True, description="false removes the service from every probe")

    @field_validator("url")
    @classmethod
    def _valid_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from yarl import URL

        u = URL(v)
        if u.scheme not in ("http", "https", "tcp") or not u.host:
            raise ValueError("must be http://host:port, https://host:port or tcp://host:port")
        if u.scheme == "tcp" and u.explicit_port is None:
            raise ValueError("a tcp:// url needs a port")
        return v

    @field_validator("health_path")
    @classmethod
    def _valid_path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("must start with /")
        return v


class CheckConfig(Section):
    """Override of one status check, or a new check when the name is not a default."""

    service: str | None = Field(None, description="catalogue service whose address the check uses")
    path: str | None = Field(None, description="request path, e.g. /api/v1/tron/network/status")
    url: str | None = Field(None, description="absolute URL; overrides the service address and path")
    method: Literal["GET", "HEAD", "OPTIONS"] | None = Field(None, description="the exporter only reads")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers (no secrets)")
    auth: Literal["none", "token"] | None = Field(None, description="token: send status.token as bearer")
    ok_metric: str | None = Field(None, description="metric set to 1 on 2xx, 0 on 401/403")
    fields: dict[str, str] = Field(default_factory=dict, description="metric name -> new field (JMESPath)")
    items: dict[str, str] = Field(default_factory=dict, description="metric name -> new item field (JMESPath)")
    metrics: list[Extraction] | None = Field(None, description="replaces the check's metrics")
    enabled: bool = True

    @field_validator("path")
    @classmethod
    def _valid_path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("must start with /")
        return v


class StatusConfig(Section):
    """The Lucid JSON status checks (probes/lucid.py)."""

    enabled: bool = Field(True, description="run the status checks")
    token: SecretStr | None = Field(
        None, description="read-only monitoring bearer token (auth /verify, admin RBAC); or token_file")
    per_node_series_cap: int = Field(50, ge=0, description="per-node series kept (highest first)")
    wallets: list[str] = Field(default_factory=list, description="wallet addresses whose USDT balance is exposed")
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000"],
                                    description="origins whose CORS preflight is checked at the gateway")
    trongrid_url: str = Field("https://api.trongrid.io", description="TronGrid base URL (getnowblock)")
    min_interval_seconds: float | None = Field(None, ge=0, description="cache per check; default probes'")


class DockerConfig(Section):
    """The docker engine: containers, networks, disk usage (``docker ps``, ``stats``, ``network inspect``)."""

    enabled: bool = Field(True, description="probe the docker engine (off where there is none, e.g. the sim)")
    base_url: str = Field("unix:///var/run/docker.sock", description="docker engine address (unix:// or tcp://)")
    container_patterns: list[str] = Field(
        default_factory=lambda: ["lucid-*"],
        description="besides the catalogue's containers, watch every container whose name matches (fnmatch)",
    )
    networks: list[str] = Field(
        default_factory=lambda: ["lucid-network", "lucid-tron-network"], description="networks that must exist"
    )
    tron_network: str = Field("lucid-tron-network", description="the isolated TRON payment network")
    tron_allowed_containers: list[str] = Field(
        default_factory=list,
        description="containers allowed on the TRON network besides the catalogue's tron cluster",
    )
    workers: int = Field(4, ge=1, le=32, description="threads for docker API calls (bounded concurrency)")
    api_timeout_seconds: float = Field(10.0, gt=0, description="timeout of one docker API call")
    stats: bool = Field(True, description="one-shot CPU/memory stats of running containers (docker stats)")
    min_interval_seconds: float = Field(15.0, ge=0, description="cache of the container and network probes")
    disk_usage_min_interval_seconds: float = Field(
        300.0, ge=0, description="cache of `docker system df` (expensive on a big engine)"
    )


class LogsConfig(Section):
    """Container log analysis (``docker logs ... | grep``), read incrementally."""

    enabled: bool = Field(True, description="count error, code, slow and auth lines in container logs")
    lookback_seconds: float = Field(3600.0, gt=0, description="first read of a container looks back this far")
    first_read_max_lines: int = Field(5000, ge=1, description="at most this many lines on a container's first read")
    max_lines_per_read: int = Field(
        50000, ge=1, description="at most this many new lines per container and scrape (the rest is skipped)"
    )
    max_error_codes: int = Field(
        50, ge=1, description="distinct LUCID_ERR codes per container; more are counted as code=\"other\""
    )
    topics: dict[str, str] = Field(
        default_factory=lambda: {"auth": "auth|login|token", "hardware_wallet": "hardware|ledger|trezor",
                                 "cors": "cors", "poot": "poot", "rbac": "rbac"},
        description="topic -> regular expression (case-insensitive): the guide's topic greps, counted per container",
    )
    timeout_seconds: float = Field(20.0, gt=0, description="timeout of the log probe (capped by the scrape budget)")
    min_interval_seconds: float = Field(15.0, ge=0, description="cache of the log probe")

    @field_validator("topics")
    @classmethod
    def _valid_topics(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        for topic, pattern in v.items():
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"topics.{topic}: invalid regular expression: {e}") from None
        return v


class NetworkConfig(Section):
    """Inter-service reachability: DNS of every catalogue host, TCP connects (``nslookup``, ``netstat``)."""

    enabled: bool = True
    dns: bool = Field(True, description="resolve every catalogue host name")
    extra_dns_names: list[str] = Field(default_factory=list, description="more names to resolve")
    tcp_targets: list[str] = Field(
        default_factory=lambda: ["lucid-xrdp:13389", "lucid-xrdp:14389"],
        description="host:port to connect to (the guide's RDP port range bounds by default)",
    )
    timeout_seconds: float = Field(3.0, gt=0, description="per name / per connect timeout")

    @field_validator("tcp_targets")
    @classmethod
    def _valid_targets(cls, v: list[str]) -> list[str]:
        for t in v:
            host, sep, port = t.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{t!r}: must be host:port")
        return v


class HostConfig(Section):
    """Disk space and backups (``df -h``, ``/opt/lucid/backups``)."""

    enabled: bool = True
    paths: list[str] = Field(
        default_factory=lambda: ["/data"], description="filesystems to report (data volumes mounted read-only)"
    )
    backup_dirs: dict[str, str] = Field(
        default_factory=lambda: {"mongodb": "/opt/lucid/backups/mongodb", "redis": "/opt/lucid/backups/redis"},
        description="backup kind -> directory; the newest file in it is the last backup",
    )
    meminfo_path: str = Field("/proc/meminfo", description="host memory (free -h); the sidecar sees the host's")


class TLSConfig(Section):
    """TLS towards a backend (MongoDB, Redis, Elasticsearch)."""

    enabled: bool = Field(False, description="connect with TLS")
    ca_file: Path | None = Field(None, description="PEM CA bundle that signed the server certificate")
    cert_file: Path | None = Field(None, description="PEM client certificate (mutual TLS)")
    key_file: Path | None = Field(None, description="PEM client key (mutual TLS)")
    insecure_skip_verify: bool = Field(False, description="do not verify the server certificate (tests only)")


class RedisConfig(Section):
    enabled: bool = Field(True, description="probe Redis (target redis)")
    address: str | None = Field(None, description="host:port; default: the catalogue's redis url (lucid-redis:6379)")
    username: str | None = Field(None, description="ACL user name (Redis 6+); none for requirepass")
    password: SecretStr | None = Field(None, description="requirepass or ACL password (or password_file)")
    db: int = Field(0, ge=0, description="database the client selects (INFO covers all of them)")
    tls: TLSConfig = TLSConfig()
    connect_timeout_seconds: float = Field(2.0, gt=0, description="connect and socket timeout, capped by the budget")
    max_connections: int = Field(2, ge=1, description="connections in the client's pool")
    rate_limit_patterns: list[str] = Field(
        default_factory=lambda: ["ratelimit:*", "rate_limit:*"],
        description="SCAN MATCH patterns whose keys are counted (never KEYS)")
    rate_limit_max_keys: int = Field(100_000, ge=1, description="stop counting a pattern after this many keys")
    rate_limit_max_seconds: float = Field(1.0, gt=0, description="stop scanning a pattern after this long")
    scan_count: int = Field(1000, ge=1, description="COUNT hint of each SCAN call")


class RequiredIndex(Section):
    database: str = Field("lucid", description="database of the collection")
    collection: str = Field(description="collection name")
    keys: dict[str, int | str] = Field(description="index key pattern in order, e.g. {user_id: 1, created_at: 1}")
    unique: bool = Field(False, description="the index must also be unique")
    name: str | None = Field(None, description="label value; default MongoDB's generated name (email_1)")

    @property
    def label(self) -> str:
        return self.name or "_".join(f"{k}_{v}" for k, v in self.keys.items())


def _default_indexes() -> list[RequiredIndex]:
    return [RequiredIndex(collection="users", keys={"email": 1}),
            RequiredIndex(collection="sessions", keys={"user_id": 1, "created_at": 1})]


class MongoDBConfig(Section):
    enabled: bool = Field(True, description="probe MongoDB (target mongodb)")
    uri: SecretStr | None = Field(None, description="full mongodb:// URI (or uri_file); wins over address")
    address: str | None = Field(None, description="host:port; default: the catalogue's mongodb url")
    username: str | None = Field(None, description="SCRAM user name")
    password: SecretStr | None = Field(None, description="SCRAM password (or password_file)")
    auth_source: str = Field("admin", description="database holding the user")
    direct_connection: bool = Field(True, description="talk to this member only (rs.status() of its view)")
    tls: TLSConfig = TLSConfig()
    connect_timeout_seconds: float = Field(2.0, gt=0, description="connect and server selection timeout")
    databases: list[str] = Field(default_factory=lambda: ["lucid", "lucid_blocks"],
                                 description="databases whose db.stats() is exported")
    required_indexes: list[RequiredIndex] = Field(default_factory=_default_indexes,
                                                  description="indexes that must exist (index_present)")
    index_stats: bool = Field(True, description="export $indexStats usage counters of the required indexes")


class ElasticsearchConfig(Section):
    enabled: bool = Field(True, description="probe Elasticsearch (target elasticsearch)")
    url: str | None = Field(None, description="http(s)://host:port; default: the catalogue's elasticsearch url")
    username: str | None = Field(None, description="basic auth user")
    password: SecretStr | None = Field(None, description="basic auth password (or password_file)")
    api_key: SecretStr | None = Field(None, description="API key (or api_key_file); wins over basic auth")
    tls: TLSConfig = TLSConfig()
    connect_timeout_seconds: float = Field(2.0, gt=0, description="request timeout, capped by the budget")
    node_stats: bool = Field(True, description="run the _nodes/stats sub-probe (elasticsearch_nodes)")
    max_nodes: int = Field(50, ge=1, description="per-node series are capped at this many nodes")
    indices: list[str] = Field(default_factory=lambda: ["*"],
                               description="allow-list of index name patterns (fnmatch) for per-index series")
    max_indices: int = Field(100, ge=1, description="per-index series are capped at this many indices")
    include_hidden_indices: bool = Field(False, description="also list indices whose name starts with a dot")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LUCID_EXPORTER_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    web: WebConfig = WebConfig()
    probes: ProbesConfig = ProbesConfig()
    services: dict[str, ServiceConfig] = Field(
        default_factory=dict, description="overrides of the service catalogue, by service name"
    )
    mongodb: MongoDBConfig = Field(MongoDBConfig(), description="MongoDB probe (foundation)")
    redis: RedisConfig = Field(RedisConfig(), description="Redis probe (foundation)")
    elasticsearch: ElasticsearchConfig = Field(ElasticsearchConfig(), description="Elasticsearch probe (foundation)")
    status: StatusConfig = Field(StatusConfig(), description="Lucid JSON status checks")
    checks: dict[str, CheckConfig] = Field(
        default_factory=dict, description="overrides of the status check catalogue, by check name"
    )
    docker: DockerConfig = Field(DockerConfig(), description="docker engine: containers, networks, disk usage")
    logs: LogsConfig = Field(LogsConfig(), description="container log analysis")
    network: NetworkConfig = Field(NetworkConfig(), description="DNS and TCP reachability")
    host: HostConfig = Field(HostConfig(), description="disk space and backup freshness")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file (init carries the YAML content).
        return (env_settings, init_settings)


def _format_error(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"] if p not in ("__root__",)) or "(top level)"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see `lucid-exporter config --help`)"
    return f"{loc}: {msg}"


def load(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load and validate. Raises ConfigError with one line per problem."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError([f"{path}: cannot read config file: {e.strerror}"]) from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or "invalid YAML"
            raise ConfigError([f"{path}:{where}: {problem}"]) from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError([f"{path}: the top level must be a mapping of sections"])
        data = raw
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return Settings(**data)
    except ValidationError as e:
        raise ConfigError([_format_error(err) for err in e.errors()]) from None


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def dump_redacted(settings: Settings) -> str:
    """The effective configuration as YAML, secrets shown as <secret>."""

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return redact.MASK if value.get_secret_value() else ""
        if isinstance(value, BaseModel):
            return {k: walk(getattr(value, k)) for k in type(value).model_fields}
        if isinstance(value, dict):
            return {str(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, str):
            return redact.redact(value)  # credentials inside URLs
        return value

    return yaml.safe_dump(walk(settings), sort_keys=False, default_flow_style=False)
