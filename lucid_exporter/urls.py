"""Addresses and URLs as typed values: a URL's password is a ``SecretStr``, never part of a string.

A URL read from the configuration is split once, at load, into the address the libraries are
given (``public``: no user, no password) and the credentials (``credentials``), which the probes
hand to their client as basic auth. Nothing renders the password: ``str()`` of a ``SecretURL``
shows ``<secret>`` in its place, so the configuration dump, the status page, error messages and
logs show where a credential is configured without showing it. Libraries never see the password
inside a URL string, so their own error messages cannot carry it either.

Parse errors never quote the input: a malformed URL may hold a password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, GetCoreSchemaHandler, PlainSerializer, SecretStr
from pydantic_core import core_schema
from yarl import URL

MASK = "<secret>"
MIN_SECRET_LENGTH = 8  # see redact.py: a shorter value cannot be told apart from ordinary text


def short_secret_error(length: int) -> str | None:
    """The config error for a secret of ``length`` characters, or None when it is fine.

    An empty value means "not set". Shorter than MIN_SECRET_LENGTH is refused: it would be
    guessed in seconds, and a value like ``abc`` cannot be masked in free text (library error
    messages) without masking ordinary words.
    """
    if 0 < length < MIN_SECRET_LENGTH:
        return f"a secret must be at least {MIN_SECRET_LENGTH} characters"
    return None


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    """User and password for HTTP basic auth; the password stays a ``SecretStr``."""

    username: str
    password: SecretStr

    def __repr__(self) -> str:
        return f"BasicCredentials({self.username!r}, {MASK})"


@dataclass(frozen=True, slots=True)
class SecretURL:
    """A URL whose password is a secret. ``public`` is the URL without user and password."""

    scheme: str
    host: str
    port: int | None
    public: str
    username: str | None = None
    password: SecretStr | None = None

    @classmethod
    def parse(cls, text: str, schemes: tuple[str, ...], *, port_required: tuple[str, ...] = (),
              no_credentials: tuple[str, ...] = ()) -> SecretURL:
        """Parse ``text``; ValueError with a message that never quotes it."""
        allowed = ", ".join(f"{s}://" for s in schemes)
        if "://" not in text:
            raise ValueError(f"must start with a scheme ({allowed})")
        try:
            url = URL(text)
            explicit_port = url.explicit_port
        except ValueError as e:
            # A raw / # ? in a password ends the host part early: say how to write it.
            hint = " (characters such as / @ : # ? % in a password must be percent-encoded)" if "@" in text else ""
            if "port" in str(e).lower():
                raise ValueError(f"the port must be a number between 1 and 65535{hint}") from None
            raise ValueError(f"not a valid URL{hint}") from None
        scheme = url.scheme.lower()
        if scheme not in schemes:
            raise ValueError(f"the scheme must be one of {allowed}")
        host = url.host or ""
        if scheme == "unix":
            if not url.path or url.path == "/":
                raise ValueError("a unix:// URL needs the socket path (unix:///var/run/docker.sock)")
        elif not host:
            raise ValueError("the URL has no host")
        if explicit_port is not None and not 0 < explicit_port < 65536:
            raise ValueError("the port must be a number between 1 and 65535")
        if scheme in port_required and explicit_port is None:
            raise ValueError(f"a {scheme}:// URL needs a port")
        username = url.user if url.raw_user is not None else None
        password = url.password if url.raw_password is not None else None
        if username and ":" in username:
            raise ValueError("a user name cannot contain ':' (basic auth separates user and password with it)")
        if password and scheme == "ssh":
            raise ValueError("an ssh:// URL takes no password (ssh uses its keys)")
        if (username or password) and scheme in no_credentials:
            raise ValueError(f"a {scheme}:// URL takes no user or password (use the section's own credential keys)")
        if password:
            problem = short_secret_error(len(password))
            if problem:
                raise ValueError(f"password: {problem}")
        # A unix:// URL has no authority (yarl sees it as relative): nothing to strip.
        public = text.partition("#")[0] if scheme == "unix" else str(url.with_user(None).with_fragment(None))
        return cls(scheme, host, explicit_port, public, username or None,
                   SecretStr(password) if password else None)

    @property
    def credentials(self) -> BasicCredentials | None:
        if self.username is None and self.password is None:
            return None
        return BasicCredentials(self.username or "", self.password or SecretStr(""))

    def with_public(self, public: str) -> SecretURL:
        """The same credentials on another address (``tcp://`` given to an HTTP client)."""
        return SecretURL(self.scheme, self.host, self.port, public, self.username, self.password)

    def __str__(self) -> str:
        """The URL for people: credentials shown as ``user:<secret>@``."""
        if self.username is None and self.password is None:
            return self.public
        scheme, sep, rest = self.public.partition("://")
        user = str(URL.build(scheme="http", user=self.username or "", host="h").raw_user or "")
        shown = f"{user}:{MASK}" if self.password is not None else user
        return f"{scheme}{sep}{shown}@{rest}"

    def __repr__(self) -> str:
        return f"SecretURL({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.is_instance_schema(cls)


def _url_parser(schemes: tuple[str, ...], port_required: tuple[str, ...] = (),
                no_credentials: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, SecretURL):
            return value
        if not isinstance(value, str):
            raise ValueError("must be a URL string")
        return SecretURL.parse(value.strip(), schemes, port_required=port_required, no_credentials=no_credentials)

    return parse


_render = PlainSerializer(str, return_type=str)

HttpURL = Annotated[SecretURL, BeforeValidator(_url_parser(("http", "https"))), _render]
"""http(s)://[user:password@]host[:port][/path]"""

ServiceURL = Annotated[SecretURL, BeforeValidator(_url_parser(("http", "https", "tcp"), port_required=("tcp",),
                                                                no_credentials=("tcp",))), _render]
"""http(s)://[user:password@]host[:port] or tcp://host:port"""

DockerURL = Annotated[SecretURL, BeforeValidator(_url_parser(("unix", "tcp", "http", "https", "ssh"),
                                                               port_required=("tcp",))), _render]
"""unix:///path/docker.sock, tcp://host:port, http(s)://[user:password@]host:port or ssh://user@host"""


def check_host_port(value: str, *, empty_host: bool = False) -> str:
    """``host:port`` (``[v6]:port``) with a port between 1 and 65535; returns it stripped.

    ``empty_host`` allows ``:port`` (listen on every address).
    """
    text = value.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError("must be host:port")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port with a port between 1 and 65535")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not bare and not empty_host:
        raise ValueError("must be host:port (the host is missing)")
    if any(c in bare for c in "/@ \t\r\n?#") or ("]" in bare or "[" in bare) or (":" in bare and bare == host):
        raise ValueError("must be host:port (an IPv6 host goes in brackets: [::1]:6379)")
    return text


def split_host_port(value: str) -> tuple[str, int]:
    """``host``, ``port`` of a value that passed ``check_host_port``."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)
