"""Helpers shared by the foundation store probes (MongoDB, Redis, Elasticsearch)."""

from __future__ import annotations

import ssl

from ..config import TLSConfig
from ..inventory import Service


def host_port(address: str | None, service: Service | None, default_port: int) -> tuple[str, int] | None:
    """The address to probe: ``address`` (host:port) from config, else the catalogue's service url."""
    if address:
        host, sep, port = address.rpartition(":")
        if not sep:
            return address, default_port
        return host.strip("[]") or "127.0.0.1", int(port)
    if service is None or not service.host:
        return None
    return service.host, service.port or default_port


def ssl_context(tls: TLSConfig, required: bool = False) -> ssl.SSLContext | None:
    """The client TLS context of a store: None unless TLS is enabled or the URL asks for it
    (``required``: an https:// Elasticsearch URL)."""
    if not (tls.enabled or required):
        return None
    ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file is not None:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def budget(configured: float, remaining: float) -> float:
    """A client timeout inside the probe's budget (never zero)."""
    return max(0.05, min(configured, remaining if remaining > 0 else configured))
