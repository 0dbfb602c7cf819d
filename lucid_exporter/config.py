"""Configuration: data, validated once at start-up.

Sources, highest priority first: environment variables ``LUCID_EXPORTER_*`` (nested with
``__``, for example ``LUCID_EXPORTER_REDIS__PASSWORD``), then the YAML file given with
``--config``, then the defaults below. Every secret field ``x`` also accepts ``x_file``:
the path of a file holding the secret (docker/compose secrets), read once at start-up.

Everything is checked here, once, so that a bad value is one line naming its field (exit 2)
rather than a failure at run time: addresses are host + port 1-65535, URLs have a scheme the
field allows, TLS files parse as PEM, duplicate YAML keys are errors, booleans are not numbers,
numbers are finite. Secrets are typed (``SecretStr``; a URL's password inside ``SecretURL``):
every output renders from the type, never from a pattern search.
"""

from __future__ import annotations

import math
import re
import ssl
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from . import redact
from .catalogue.models import Extraction
from .urls import DockerURL, HttpURL, SecretURL, ServiceURL, check_host_port, short_secret_error

DEFAULT_PORT = 10097  # see README "Port": outside the fully allocated 9100-9999 exporter range


class ConfigError(Exception):
    """An invalid configuration: one human-readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Section(BaseModel):
    """Base for config sections: unknown keys are errors (a typo must not pass silently),
    and every ``SecretStr`` field ``x`` may be given as ``x_file``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        # YAML `timeout_seconds: true` would otherwise be 1.0.
        if isinstance(v, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            kinds = {annotation, *get_args(annotation)}
            if (int in kinds or float in kinds) and bool not in kinds:
                raise ValueError("must be a number, not true/false")
        return v

    @field_validator("*", mode="after")
    @classmethod
    def _secret_length(cls, v: Any) -> Any:
        if isinstance(v, SecretStr):
            problem = short_secret_error(len(v.get_secret_value()))
            if problem:
                raise ValueError(problem)
        return v

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
        # The second line of defence: text the exporter does not render itself (a library's
        # error message) is searched for these literal values before it is shown.
        for name in type(self).model_fields:
            value = getattr(self, name)
            values = value.values() if isinstance(value, dict) else [value]
            for v in values:
                if isinstance(v, SecretURL):
                    v = v.password
                if isinstance(v, SecretStr):
                    redact.register(v.get_secret_value())
        return self


def _check_pem_certificates(path: Path, what: str) -> None:
    """ValueError unless ``path`` holds at least one PEM certificate."""
    if not path.is_file():
        raise ValueError(f"{what}: {path} does not exist")
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise ValueError(f"{what}: {path} is not a PEM file") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"{what}: {path} is not a PEM certificate")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError):
        raise ValueError(f"{what}: {path} is not a valid PEM certificate") from None


def _check_pem_pair(cert: Path, key: Path | None, cert_what: str, key_what: str) -> None:
    """ValueError unless the certificate and its key load (PEM, matching, not encrypted)."""
    _check_pem_certificates(cert, cert_what)
    if key is not None and not key.is_file():
        raise ValueError(f"{key_what}: {key} does not exist")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        # The callback answers an encrypted key's passphrase prompt (no tty prompt at start-up).
        ctx.load_cert_chain(str(cert), str(key) if key is not None else None, password=lambda: b"")
    except (ssl.SSLError, OSError, ValueError):
        raise ValueError(f"{key_what}: {key or cert} is not an unencrypted PEM private key "
                         f"matching {cert_what}") from None


def _no_line_break(v: SecretStr | None) -> SecretStr | None:
    """A secret sent inside an HTTP header (a bearer token, an API key): HTTP forbids a line break."""
    if v is not None and any(c in v.get_secret_value() for c in "\r\n\0"):
        raise ValueError("cannot contain a line break (it is sent in an HTTP header)")
    return v


TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3,
}
# exporter-toolkit (Go) cipher suite names -> OpenSSL names (TLS 1.2 and below; TLS 1.3 suites are fixed).
CIPHER_SUITES: dict[str, str] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
}
# Go's RequestClientCert and RequireAnyClientCert accept any certificate without verifying it;
# Python's ssl cannot ask for a certificate without verifying it, and nobody should want to.
ClientAuthType = Literal["NoClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"]


class TLSServerConfig(Section):
    """``tls_server_config`` of the exporter-toolkit web configuration (HTTPS for every endpoint)."""

    cert_file: Path | None = Field(None, description="PEM certificate (chain) the exporter presents")
    key_file: Path | None = Field(None, description="PEM private key of cert_file (unencrypted)")
    client_auth_type: ClientAuthType = Field(
        "NoClientCert", description="NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert "
        "(mutual TLS, with client_ca_file)")
    client_ca_file: Path | None = Field(None, description="PEM CA bundle that signs client certificates")
    client_allowed_sans: list[str] = Field(
        default_factory=list, description="accepted client certificate SANs (DNS, IP, e-mail, URI); "
        "requires RequireAndVerifyClientCert")
    min_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] = Field("TLS12", description="oldest TLS version")
    max_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] = Field("TLS13", description="newest TLS version")
    cipher_suites: list[str] = Field(default_factory=list, description="TLS 1.2 cipher suites by their Go names "
                                     "(default: OpenSSL's)")
    prefer_server_cipher_suites: bool = Field(True, description="the server's cipher order wins")
    cert: str | None = Field(None, description="inline certificate: not supported, use cert_file")
    key: str | None = Field(None, description="inline key: not supported, use key_file")
    client_ca: str | None = Field(None, description="inline client CA: not supported, use client_ca_file")
    curve_preferences: list[str] = Field(default_factory=list, description="not supported (OpenSSL's defaults)")

    @model_validator(mode="after")
    def _valid(self) -> TLSServerConfig:
        for name in ("cert", "key", "client_ca"):
            if getattr(self, name) is not None:
                raise ValueError(f"{name}: inline PEM is not supported; use {name}_file")
        if self.curve_preferences:
            raise ValueError("curve_preferences: not supported (OpenSSL chooses the curves)")
        if self.cert_file is None or self.key_file is None:
            raise ValueError("cert_file and key_file are both required")
        _check_pem_pair(self.cert_file, self.key_file, "cert_file", "key_file")
        verifies = self.client_auth_type != "NoClientCert"
        if verifies and self.client_ca_file is None:
            raise ValueError(f"client_ca_file: required with client_auth_type {self.client_auth_type}")
        if self.client_ca_file is not None:
            _check_pem_certificates(self.client_ca_file, "client_ca_file")
        if self.client_allowed_sans and self.client_auth_type != "RequireAndVerifyClientCert":
            raise ValueError("client_allowed_sans: requires client_auth_type RequireAndVerifyClientCert")
        if TLS_VERSIONS[self.min_version] > TLS_VERSIONS[self.max_version]:
            raise ValueError("min_version is newer than max_version")
        unknown = [c for c in self.cipher_suites if c not in CIPHER_SUITES]
        if unknown:
            raise ValueError(f"cipher_suites: unknown or unsupported suite {unknown[0]}")
        return self


SecurityHeader = Literal["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                         "X-XSS-Protection", "Strict-Transport-Security"]


class HTTPServerConfig(Section):
    """``http_server_config`` of the exporter-toolkit web configuration."""

    http2: bool = Field(True, description="accepted for compatibility; the exporter serves HTTP/1.1")
    headers: dict[SecurityHeader, str] = Field(default_factory=dict, description="headers added to every reply")

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if any(c in value for c in "\r\n\0"):
                raise ValueError(f"{name}: a header value cannot contain a line break")
        return v


class RateLimitConfig(Section):
    """``rate_limit`` of the exporter-toolkit web configuration: not supported (see basic_auth_* keys)."""

    interval: str = Field("0", description="not supported")
    burst: int = Field(0, description="not supported")

    @model_validator(mode="after")
    def _unsupported(self) -> RateLimitConfig:
        if self.interval not in ("0", "0s") or self.burst:
            raise ValueError("not supported: lucid-exporter limits failed logins per client instead "
                             "(web.basic_auth_max_failures)")
        return self


TOOLKIT_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users", "rate_limit")


class WebConfig(Section):
    """The HTTP server. TLS and basic auth follow the exporter-toolkit web configuration file
    (``--web.config.file``, as every Prometheus exporter reads it); its keys may also be given here."""

    listen_address: str = Field(f":{DEFAULT_PORT}", description="host:port the exporter listens on")
    config_file: Path | None = Field(
        None, description="exporter-toolkit web configuration file (tls_server_config, http_server_config, "
        "basic_auth_users); what --web.config.file sets")
    tls_server_config: TLSServerConfig | None = Field(None, description="HTTPS (exporter-toolkit format)")
    http_server_config: HTTPServerConfig = Field(HTTPServerConfig(), description="extra reply headers")
    basic_auth_users: dict[str, SecretStr] = Field(
        default_factory=dict, description="user name -> bcrypt hash; enables basic auth on every endpoint "
        "but /-/healthy and /-/ready")
    rate_limit: RateLimitConfig = Field(RateLimitConfig(), description="exporter-toolkit key; not supported")
    tls_cert_file: Path | None = Field(None, description="alias of tls_server_config.cert_file")
    tls_key_file: Path | None = Field(None, description="alias of tls_server_config.key_file")
    max_requests_in_flight: int = Field(8, ge=1, description="concurrent /metrics and /probe requests; more wait "
                                        "within their scrape budget, then get the cached results (or 503)")
    basic_auth_workers: int = Field(1, ge=1, le=16, description="threads verifying bcrypt hashes (the bound on "
                                    "concurrent verifications)")
    basic_auth_max_pending: int = Field(16, ge=1, description="verifications waiting for a worker; more are "
                                        "refused with 429 at once")
    basic_auth_max_failures: int = Field(10, ge=1, description="failed logins per client address per window; "
                                         "more are refused with 429 without verifying")
    basic_auth_failure_window_seconds: float = Field(60.0, gt=0, description="window of basic_auth_max_failures")
    basic_auth_cache_size: int = Field(1024, ge=1, description="verified credentials remembered (by digest; "
                                       "both outcomes)")

    @model_validator(mode="before")
    @classmethod
    def _merge_toolkit_file(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        path = out.get("config_file")
        if path not in (None, ""):
            toolkit = read_yaml(Path(str(path)), "config_file")
            if not isinstance(toolkit, dict):
                raise ValueError(f"config_file: {path}: the top level must be a mapping")
            for key, value in toolkit.items():
                if key not in TOOLKIT_KEYS:
                    raise ValueError(f"config_file: {path}: unknown key {str(key)[:60]!r} "
                                     f"(expected {', '.join(TOOLKIT_KEYS)})")
                if out.get(key) not in (None, {}, ""):
                    raise ValueError(f"config_file: {key} is set both in {path} and under web:")
                out[key] = value if value is not None else ({} if key != "tls_server_config" else None)
        # Today's keys, kept as aliases of the toolkit's.
        cert, key = out.get("tls_cert_file"), out.get("tls_key_file")
        if cert not in (None, "") or key not in (None, ""):
            if out.get("tls_server_config") not in (None, {}):
                raise ValueError("tls_cert_file/tls_key_file: give either these or tls_server_config, not both")
            out["tls_server_config"] = {"cert_file": cert, "key_file": key}
            out["tls_cert_file"] = out["tls_key_file"] = None
        return out

    @field_validator("listen_address")
    @classmethod
    def _valid_address(cls, v: str) -> str:
        return check_host_port(v, empty_host=True)

    @model_validator(mode="after")
    def _valid_users(self) -> WebConfig:
        for user, h in self.basic_auth_users.items():
            if not h.get_secret_value().startswith(("$2a$", "$2b$", "$2y$")):
                raise ValueError(f"basic_auth_users.{user}: must be a bcrypt hash ($2b$...)")
            if ":" in user:
                raise ValueError("basic_auth_users: a user name cannot contain ':'")
        return self

    @property
    def tls(self) -> TLSServerConfig | None:
        return self.tls_server_config

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
    concurrency: int | None = Field(
        None, ge=1, description="at most this many probes running at once (a cap to protect the backends); "
        "default: no cap, every probe of a scrape starts at once")
    max_connections_per_host: int | None = Field(
        None, ge=1, description="connections the shared HTTP pool keeps per host; default: as many as the "
        "probes send one host at once (its health and status checks)")
    io_threads: int = Field(64, ge=4, description="threads for name lookups and file reads shared by the probes")


class ServiceConfig(Section):
    """Override of one catalogue entry, or a new service when the name is not in the catalogue."""

    url: ServiceURL | None = Field(None, description="http(s)://[user:password@]host:port or tcp://host:port "
                                   "(default: container name and the guide's port); a password is sent as "
                                   "basic auth and shown as <secret>")
    health_path: str | None = Field(None, description="path of the health check (default /health)")
    cluster: str | None = Field(None, description="one of the ten clusters; required for a new service")
    container: str | None = Field(None, description="container name (default lucid-<name>)")
    health: Literal["http", "tcp", "none"] | None = Field(
        None, description="http: GET health_path; tcp: connect only; none: no health check")
    enabled: bool = Field(True, description="false removes the service from every probe")

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
    url: HttpURL | None = Field(None, description="absolute URL; overrides the service address and path "
                                "(credentials go in headers_file, not in the URL)")
    method: Literal["GET", "HEAD", "OPTIONS"] | None = Field(
        None, description="GET, HEAD or OPTIONS: the exporter only reads")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="extra request headers; values are secrets (shown as <secret>), "
        "also from files: headers_file: {Name: /run/secrets/x}")
    auth: Literal["none", "token", "blockchain"] | None = Field(
        None, description="token: send status.token as bearer; blockchain: status.blockchain_api_key as the "
        "blockchain API wants it")
    ok_metric: str | None = Field(None, description="metric set to 1 on 2xx, 0 on 401/403")
    fields: dict[str, str] = Field(default_factory=dict, description="metric name -> new field (JMESPath)")
    items: dict[str, str] = Field(default_factory=dict, description="metric name -> new item field (JMESPath)")
    metrics: list[Extraction] | None = Field(None, description="replaces the check's metrics")
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _read_header_files(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "headers_file" not in data:
            return data
        out = dict(data)
        files = out.pop("headers_file")
        if not isinstance(files, dict):
            raise ValueError("headers_file: must map header names to secret files")
        headers = dict(out.get("headers") or {})
        for name, path in files.items():
            if name in headers:
                continue  # an explicit value wins, as for every *_file key
            try:
                headers[name] = Path(str(path)).read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as e:
                why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
                raise ValueError(f"headers_file.{name}: cannot read secret file {path}: {why}") from None
        out["headers"] = headers
        return out

    @field_validator("method", mode="before")
    @classmethod
    def _read_only_method(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, str) or v.upper() not in ("GET", "HEAD", "OPTIONS"):
            raise ValueError("must be GET, HEAD or OPTIONS (the exporter only reads)")
        return v.upper()

    @field_validator("url")
    @classmethod
    def _no_url_credentials(cls, v: SecretURL | None) -> SecretURL | None:
        if v is not None and v.credentials is not None:
            raise ValueError("credentials go in headers_file (an Authorization header), not in the URL")
        return v

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, value in v.items():
            if not name or any(c in name for c in " \t\r\n:()<>@,;\\\"/[]?={}") or not name.isascii():
                raise ValueError(f"{name[:60]!r}: not a valid header name")
            if any(c in value.get_secret_value() for c in "\r\n\0"):
                raise ValueError(f"{name}: a header value cannot contain a line break")
        return v

    @field_validator("path")
    @classmethod
    def _valid_path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("must start with /")
        return v


class StatusConfig(Section):
    """The Lucid APIs: which API profile they answer with, and the status checks (probes/status.py)."""

    profile: str = Field(
        "guide", description="API profile: guide (the troubleshooting guide's paths and the guide's service "
        "addresses) or lucid (the real Lucid code's paths, auth, reply shapes, container names, ports and "
        "health paths); docs/status-checks.md")
    enabled: bool = Field(True, description="run the status checks")
    token: SecretStr | None = Field(
        None, description="read-only monitoring bearer token (auth /verify, admin RBAC); or token_file")
    blockchain_api_key: SecretStr | None = Field(
        None, description="the blockchain API's read-only key (its API_KEY_READONLY), sent in X-API-Key and "
        "api-key, as the lucid profile's blockchain checks need; or blockchain_api_key_file")
    blockchain_token: SecretStr | None = Field(
        None, description="a JWT for the blockchain API (HS256 with its SECRET_KEY, user_id readonly_user), sent "
        "as the bearer header; without it a placeholder bearer goes with the API key; or blockchain_token_file")
    per_node_series_cap: int = Field(50, ge=0, description="per-node series kept (highest first)")
    wallets: list[str] = Field(default_factory=list, description="wallet addresses whose USDT balance is exposed")
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000"],
                                    description="origins whose CORS preflight is checked at the gateway")
    trongrid_url: HttpURL = Field(SecretURL.parse("https://api.trongrid.io", ("https",)),
                                  description="TronGrid base URL (getnowblock); http(s)://[user:password@]host")
    min_interval_seconds: float | None = Field(None, ge=0, description="cache per check; default probes'")

    _token_in_header = field_validator("token", "blockchain_api_key", "blockchain_token")(_no_line_break)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        from . import catalogue

        names = catalogue.profile_names()
        if v not in names:
            raise ValueError(f"unknown API profile {v[:40]!r}: one of {', '.join(names)}")
        return v


class DockerConfig(Section):
    """The docker engine: containers, networks, disk usage (``docker ps``, ``stats``, ``network inspect``)."""

    enabled: bool = Field(True, description="probe the docker engine (off where there is none, e.g. the sim)")
    base_url: DockerURL = Field(SecretURL.parse("unix:///var/run/docker.sock", ("unix",)),
                                description="docker engine address: unix://, tcp://host:port, "
                                "http(s)://[user:password@]host:port (an authenticating proxy) or ssh://")
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
        default_factory=lambda: ["lucid-mongodb:27017", "lucid-redis:6379", "lucid-xrdp:13389", "lucid-xrdp:14389"],
        description="host:port to connect to (by default the guide's inter-service checks, curl "
                    "lucid-mongodb:27017 and lucid-redis:6379, and its RDP port range bounds)",
    )
    timeout_seconds: float = Field(3.0, gt=0, description="per name / per connect timeout")

    @field_validator("tcp_targets")
    @classmethod
    def _valid_targets(cls, v: list[str]) -> list[str]:
        out = []
        for i, t in enumerate(v):
            try:
                out.append(check_host_port(t))
            except ValueError as e:
                raise ValueError(f"[{i}]: {e}") from None
        return out


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

    @model_validator(mode="after")
    def _valid_pem(self) -> TLSConfig:
        if self.ca_file is not None:
            _check_pem_certificates(self.ca_file, "ca_file")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file: needs cert_file")
        if self.cert_file is not None:
            _check_pem_pair(self.cert_file, self.key_file, "cert_file", "key_file")
        return self


class RedisConfig(Section):
    enabled: bool = Field(True, description="probe Redis (target redis)")
    address: str | None = Field(None, description="host:port; default: the catalogue's redis url (lucid-redis:6379)")

    @field_validator("address")
    @classmethod
    def _valid_address(cls, v: str | None) -> str | None:
        return None if v is None else check_host_port(v)
    username: str | None = Field(None, description="ACL user name (Redis 6+); none for requirepass")
    password: SecretStr | None = Field(None, description="requirepass or ACL password (or password_file)")
    db: int = Field(0, ge=0, description="database the client selects (INFO covers all of them)")
    tls: TLSConfig = TLSConfig()
    connect_timeout_seconds: float = Field(2.0, gt=0, description="connect and socket timeout, capped by the budget")
    max_connections: int = Field(2, ge=1, description="connections in the client's pool")
    rate_limit_patterns: list[str] = Field(
        default_factory=lambda: ["ratelimit:*", "rate_limit:*"],
        description="SCAN MATCH patterns whose keys are counted (never KEYS)")
    rate_limit_db: int | None = Field(
        None, ge=0, description="database whose rate-limit keys are counted; default: the API profile's (guide 0; "
        "lucid 1, where the real auth service's limiter writes)")
    rate_limit_interval_seconds: float = Field(
        60.0, ge=0, description="the rate-limit key count (a SCAN of the whole keyspace) runs at most this often, "
        "in the background: scrapes serve the last count; its age: lucid_probe_result_age_seconds")
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
    stats_interval_seconds: float = Field(
        60.0, ge=0, description="db.stats() and the index checks (mongodb_dbstats) run at most this often, in the "
        "background: scrapes serve the last result; its age: lucid_probe_result_age_seconds")

    @field_validator("address")
    @classmethod
    def _valid_address(cls, v: str | None) -> str | None:
        return None if v is None else check_host_port(v)

    @field_validator("uri")
    @classmethod
    def _valid_uri(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return v
        # Checked here, quietly: pymongo's own parse errors quote parts of the URI.
        from pymongo.errors import ConfigurationError, InvalidURI
        from pymongo.uri_parser import parse_uri

        text = v.get_secret_value()
        if not text.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        if text.startswith("mongodb://"):
            try:
                parse_uri(text, warn=True)
            except (InvalidURI, ConfigurationError, ValueError):
                raise ValueError("not a valid mongodb:// URI (characters such as / @ : % in the user or "
                                 "password must be percent-encoded)") from None
        password = parse_uri(text, warn=True)["password"] if text.startswith("mongodb://") else None
        if password:
            problem = short_secret_error(len(password))
            if problem:
                raise ValueError(f"password: {problem}")
            redact.register(password)
        return v


class ElasticsearchConfig(Section):
    enabled: bool = Field(True, description="probe Elasticsearch (target elasticsearch)")
    url: HttpURL | None = Field(None, description="http(s)://[user:password@]host:port; default: the catalogue's "
                                "elasticsearch url (with its credentials)")
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
    stats_interval_seconds: float = Field(
        60.0, ge=0, description="_cat/indices and _nodes/stats (elasticsearch_indices, elasticsearch_nodes) and the "
        "version run at most this often, in the background: scrapes serve the last result; its age: "
        "lucid_probe_result_age_seconds. _cluster/health is read on every scrape")

    _api_key_in_header = field_validator("api_key")(_no_line_break)


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
    status: StatusConfig = Field(StatusConfig(), description="Lucid APIs: the API profile and the JSON status checks")
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


_SUBFIELD = re.compile(r"^(\[\d+\]|[A-Za-z_][\w.]*): ")


def _format_error(err: Any) -> str:
    # Never the input: a rejected value may be a secret.
    loc = ".".join(str(p) for p in err["loc"] if p not in ("__root__",)) or "(top level)"
    msg = str(err["msg"]).removeprefix("Value error, ")
    sub = _SUBFIELD.match(msg)
    if sub and err["type"] == "value_error":
        # A section's validator naming one of its keys: "web.tls_server_config.cert_file: ...".
        name = sub.group(1)
        loc = f"{loc}{name}" if name.startswith("[") else (f"{loc}.{name}" if loc != "(top level)" else name)
        msg = msg[sub.end():]
    if err["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see `lucid-exporter config --help`)"
    elif err["type"] == "finite_number":
        msg = "must be a finite number (not .inf or .nan)"
    return f"{loc}: {msg}"


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that refuses duplicate keys: PyYAML keeps the last silently, so a second
    ``redis:`` block would drop the first without a word. libyaml's parser when PyYAML has it
    (a tenth of the pure-Python parser's time at start-up); the same constructors either way."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: the constructor below reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {str(key)[:60]!r} (the first block would be ignored)", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_yaml(path: Path, what: str | None = None) -> Any:
    """The YAML document in ``path``; ValueError with one line (file, line, problem) otherwise."""
    where = f"{what}: {path}" if what else str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ValueError(f"{where}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise ValueError(f"{where}: line {line}: not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ValueError(f"{where}:{at} {problem}") from None


def load(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load and validate. Raises ConfigError with one line per problem."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            raw = read_yaml(path)
        except ValueError as e:
            raise ConfigError([str(e)]) from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError([f"{path}: the top level must be a mapping of sections"])
        data = raw
    if overrides:
        data = deep_merge(data, overrides)
    try:
        return Settings(**data)
    except ValidationError as e:
        raise ConfigError([_format_error(err) for err in e.errors()]) from None
    except SettingsError as e:
        # pydantic-settings could not parse an environment variable (JSON of a section): name it,
        # never quote it.
        field = str(e).split('"')[1] if str(e).count('"') >= 2 else "?"
        raise ConfigError([f"{field} (environment LUCID_EXPORTER_{field.upper()}): not valid JSON"]) from None


def deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``b`` over ``a``, section by section (nested mappings merged, everything else replaced): how
    the environment's sections override the file's, and how the sim assembles an exporter config."""
    out = dict(a)
    for k, v in b.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def dump_redacted(settings: Settings) -> str:
    """The effective configuration as YAML, rendered from the types: ``SecretStr`` as <secret>,
    a ``SecretURL`` with ``<secret>`` in place of its password."""

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return redact.MASK if value.get_secret_value() else ""
        if isinstance(value, SecretURL):
            return str(value)
        if isinstance(value, BaseModel):
            return {k: walk(getattr(value, k)) for k in type(value).model_fields}
        if isinstance(value, dict):
            return {str(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value

    return yaml.safe_dump(walk(settings), sort_keys=False, default_flow_style=False, allow_unicode=True)
