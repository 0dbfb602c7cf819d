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


class ServiceConfig(Section):
    """Override of one catalogue entry, or a new service when the name is not in the catalogue."""

    url: str | None = Field(None, description="http(s)://host:port or tcp://host:port")
    health_path: str | None = None
    cluster: str | None = None
    container: str | None = None
    health: Literal["http", "tcp", "none"] | None = None
    enabled: bool = True

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
        return value

    return yaml.safe_dump(walk(settings), sort_keys=False, default_flow_style=False)
