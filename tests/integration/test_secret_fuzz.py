"""Issue 13's "Done when": a secret made of the characters that broke the old pattern-based
masking (``/ @ : % # ? " \\ ü`` and a newline), 8 to 256 characters long, placed in every secret
field and in the password part of every URL field, appears in no output: ``config``, ``check``,
``check --json``, ``doctor``, ``doctor --json``, the status page ``/``, ``/metrics``, ``/probe``,
and the logs in logfmt and JSON. The secrets are used for real: Redis's requirepass and the
password of the authenticating proxy in front of osmem (Elasticsearch) are set to them, so the
probes log in with them; MongoDB (SecantusDB with SCRAM) refuses them (the failure path).

A secret shorter than 8 characters is a configuration error that does not echo it (see
urls.py); a header value cannot hold a line break (HTTP forbids it): also a config error.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import yaml
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lucid_exporter import cli, inventory
from lucid_exporter.config import ConfigError, load
from lucid_exporter.engine import Engine
from lucid_exporter.logs_setup import JsonFormatter, LogfmtFormatter
from lucid_exporter.probes import build_all
from lucid_exporter.server import make_app

from ..conftest import Sim, start_sim
from ..servers_foundation import BasicAuthProxy, OsmemServer, RedisServer, SecantusServer
from ..support import free_port

pytestmark = pytest.mark.integration

ALPHABET = '/@:%#?"\\ü\n'
HEADER_ALPHABET = ALPHABET.replace("\n", "")  # HTTP forbids a line break in a header value
MONGO_USER = ("lucid", "mongo-right-password")


def secret_text(alphabet: str = ALPHABET) -> st.SearchStrategy[str]:
    # At least three distinct characters: a value like "\n\n\n\n\n\n\n\n" also matches the
    # layout of the outputs (blank lines), which says nothing about a leak.
    return st.text(alphabet=alphabet, min_size=8, max_size=256).filter(lambda s: len(set(s)) >= 3)


FIELDS = ("redis.password", "mongodb.password", "elasticsearch", "services.auth-service.url",
          "services.api-gateway.url", "status.trongrid_url", "status.token", "docker.base_url",
          "checks.headers", "checks.headers_file")
# Sent as HTTP header values (a bearer token, an API key, a header): no line break (config error).
IN_HEADERS = ("status.token", "checks.headers", "checks.headers_file")


@st.composite
def secrets(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"mongodb_via_uri": draw(st.booleans()),
                           "elasticsearch_via": draw(st.sampled_from(["url", "password", "api_key"]))}
    for f in FIELDS:
        header = f in IN_HEADERS or (f == "elasticsearch" and out["elasticsearch_via"] == "api_key")
        out[f] = draw(secret_text(HEADER_ALPHABET if header else ALPHABET))
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    sim = start_sim(tmp)
    redis_srv = RedisServer(tmp, password="initial-redis-password")
    mongo = SecantusServer(tmp, auth=MONGO_USER)
    osmem = OsmemServer(tmp)
    started: list[Any] = []
    try:
        for srv in (redis_srv, mongo, osmem):
            srv.start()
            started.append(srv)
        proxy = BasicAuthProxy(tmp, osmem.url, "elastic", "initial-es-password")
        proxy.start()
        started.append(proxy)
        yield {"tmp": tmp, "sim": sim, "redis": redis_srv, "mongo": mongo, "proxy": proxy}
    finally:
        for srv in reversed(started):
            srv.stop()
        sim.proc.stop()


def with_password(url: str, user: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}:{quote(password, safe='')}@{rest}"


def build_config(world: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    sim: Sim = world["sim"]
    cfg: dict[str, Any] = yaml.safe_load(yaml.safe_dump(sim.config))
    services = cfg["services"]
    proxy: BasicAuthProxy = world["proxy"]
    mongo: SecantusServer = world["mongo"]
    cfg["probes"] = {"min_interval_seconds": 0, "timeout_seconds": 3}
    cfg["redis"] = {"enabled": True, "address": f"127.0.0.1:{world['redis'].port}", "password": s["redis.password"],
                    "rate_limit_patterns": []}
    if s["mongodb_via_uri"]:
        cfg["mongodb"] = {"enabled": True, "uri": f"mongodb://{MONGO_USER[0]}:{quote(s['mongodb.password'], safe='')}"
                          f"@127.0.0.1:{mongo.port}/?authSource=admin&directConnection=true",
                          "connect_timeout_seconds": 2}
    else:
        cfg["mongodb"] = {"enabled": True, "address": f"127.0.0.1:{mongo.port}", "username": MONGO_USER[0],
                          "password": s["mongodb.password"], "connect_timeout_seconds": 2}
    es_secret = s["elasticsearch"]
    es = {"enabled": True, "node_stats": False}
    services["elasticsearch"] = {"url": proxy.url}
    if s["elasticsearch_via"] == "url":
        es["url"] = with_password(proxy.url, "elastic", es_secret)
        services["elasticsearch"] = {"url": with_password(proxy.url, "elastic", es_secret)}
    elif s["elasticsearch_via"] == "password":
        es.update(url=proxy.url, username="elastic", password=es_secret)
    else:
        es.update(url=proxy.url, api_key=es_secret)
    cfg["elasticsearch"] = es
    for name in ("auth-service", "api-gateway"):
        services[name] = {"url": with_password(services[name]["url"], "ops", s[f"services.{name}.url"])}
    cfg["status"]["trongrid_url"] = with_password(cfg["status"]["trongrid_url"], "tron", s["status.trongrid_url"])
    cfg["status"]["token"] = s["status.token"]
    cfg["docker"] = {"enabled": True, "base_url": with_password(f"http://127.0.0.1:{free_port()}", "docker",
                                                                 s["docker.base_url"]), "api_timeout_seconds": 2}
    cfg["logs"] = {"enabled": True}
    header_file = world["tmp"] / "header-secret"
    header_file.write_text(s["checks.headers_file"], encoding="utf-8")
    cfg["checks"] = {"gateway_rate_limit": {"headers": {"X-Api-Key": s["checks.headers"]}},
                     "blocks_latest": {"headers_file": {"X-Tron-Pro-Api-Key": str(header_file)}}}
    return cfg


def forms(secret: str) -> set[str]:
    """The secret as each output format would write it."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], html.escape(secret),
            quote(secret, safe=""), secret.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")}


def strings_in(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield str(k)
            yield from strings_in(v)
    elif isinstance(data, list):
        for v in data:
            yield from strings_in(v)


def assert_absent(values: list[str], where: str, text: str, parsed: Any = None) -> None:
    for secret in values:
        for form in forms(secret):
            assert form not in text, f"secret leaked in {where} as {form!r}"
        for s in strings_in(parsed):
            assert secret not in s, f"secret leaked in {where} (parsed value)"


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


async def serve_outputs(config_path: Path) -> tuple[dict[str, str], str, str]:
    """/metrics, /probe and / of an in-process server, and what it logged in both formats."""
    settings = load(config_path)
    engine = Engine(settings, build_all(settings, inventory.build(settings)))
    logfmt, js = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(logfmt), logging.StreamHandler(js)]
    handlers[0].setFormatter(LogfmtFormatter())
    handlers[1].setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers[:] = handlers
    root.setLevel(logging.DEBUG)
    client: TestClient[Any, Any] = TestClient(TestServer(make_app(engine, settings)))
    pages: dict[str, str] = {}
    try:
        await client.start_server()
        for path in ("/metrics", "/probe?target=elasticsearch", "/probe?target=auth-service", "/"):
            reply = await client.get(path, headers={"X-Prometheus-Scrape-Timeout-Seconds": "8"})
            assert reply.status == 200, path
            pages[path] = await reply.text()
    finally:
        await client.close()
        await engine.close()
        root.handlers[:] = saved
        root.setLevel(level)
    return pages, logfmt.getvalue(), js.getvalue()


@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@example(dict.fromkeys(FIELDS, 'a/b@c:d%e#f?g"h\\iü\nj') | dict.fromkeys(IN_HEADERS, 'a/b@c:d%e#f?g"h\\iü')
         | {"mongodb_via_uri": True, "elasticsearch_via": "url"})
@example(dict.fromkeys(FIELDS, ("/@:%#?\"\\ü\n" * 26)[:256]) | dict.fromkeys(IN_HEADERS, ("/@:%#?\"\\ü" * 29)[:256])
         | {"mongodb_via_uri": False, "elasticsearch_via": "password"})
@given(s=secrets())
def test_no_secret_value_appears_in_any_output(world: dict[str, Any], s: dict[str, Any]) -> None:
    import asyncio

    values = [s[f] for f in FIELDS]
    redis_srv: RedisServer = world["redis"]
    admin = redis.Redis(host="127.0.0.1", port=redis_srv.port, password=redis_srv.password)
    admin.config_set("requirepass", s["redis.password"])
    admin.close()
    redis_srv.password = s["redis.password"]
    world["proxy"].set_password(s["elasticsearch"])

    path = world["tmp"] / "fuzz.yml"
    path.write_text(yaml.safe_dump(build_config(world, s), allow_unicode=True), encoding="utf-8")
    code, out, err = run_cli("config", "--config", str(path))
    assert code == 0, err
    assert_absent(values, "config", out + err, yaml.safe_load(out))

    results: dict[str, Any] = {}
    for command, fmt in (("check", "logfmt"), ("doctor", "json")):
        for as_json in (False, True):
            args = [command, "--config", str(path), "--log.level", "debug", "--log.format", fmt]
            code, out, err = run_cli(*args, *(["--json"] if as_json else []))
            where = f"{command}{' --json' if as_json else ''}"
            assert code in (0, 1) and "Traceback" not in err, err
            parsed = json.loads(out) if as_json else None
            assert_absent(values, where, out + err, parsed)
            if fmt == "json":
                for line in err.splitlines():
                    assert_absent(values, f"{where} json log", line, json.loads(line))
            if command == "check" and as_json:
                results = {(p["probe"], p["target"]): p for p in parsed["probes"]}

    # The secrets were really used: the stores that were given the right password are up.
    assert results[("redis", "redis")]["success"], results[("redis", "redis")]
    if s["elasticsearch_via"] != "api_key":
        assert results[("elasticsearch", "elasticsearch")]["success"], results[("elasticsearch", "elasticsearch")]
    assert not results[("mongodb", "mongodb")]["success"]
    assert results[("health", "auth-service")]["success"]
    # Credentials in the service URL and the check's bearer token together: the token wins,
    # the request is sent (it used to fail before sending).
    verify = results[("lucid_status", "auth-service/auth_verify")]
    assert verify["success"], verify

    pages, logfmt, js = asyncio.run(serve_outputs(path))
    for where, page in pages.items():
        assert_absent(values, where, page)
    assert_absent(values, "serve logfmt log", logfmt)
    for line in js.splitlines():
        assert_absent(values, "serve json log", line, json.loads(line))


# ---------------------------------------------------------------- short values: a config error


SHORT_FIELDS: dict[str, tuple[Any, str]] = {
    # field -> (how the value is placed, the one line expected)
    "redis.password": (lambda v: {"redis": {"password": v}}, "redis.password"),
    "mongodb.password": (lambda v: {"mongodb": {"username": "u", "password": v}}, "mongodb.password"),
    "mongodb.uri": (lambda v: {"mongodb": {"uri": f"mongodb://u:{quote(v, safe='')}@db:27017"}},
                    "mongodb.uri.password"),
    "elasticsearch.password": (lambda v: {"elasticsearch": {"username": "u", "password": v}},
                               "elasticsearch.password"),
    "elasticsearch.api_key": (lambda v: {"elasticsearch": {"api_key": v}}, "elasticsearch.api_key"),
    "elasticsearch.url": (lambda v: {"elasticsearch": {"url": with_password("http://es:9200", "u", v)}},
                          "elasticsearch.url.password"),
    "services.url": (lambda v: {"services": {"auth-service": {"url": with_password("http://a:1", "u", v)}}},
                     "services.auth-service.url.password"),
    "status.trongrid_url": (lambda v: {"status": {"trongrid_url": with_password("https://t", "u", v)}},
                            "status.trongrid_url.password"),
    "status.token": (lambda v: {"status": {"token": v}}, "status.token"),
    "docker.base_url": (lambda v: {"docker": {"base_url": with_password("http://d:2375", "u", v)}},
                        "docker.base_url.password"),
}


@settings(max_examples=60, deadline=None, database=None)
@given(field=st.sampled_from(sorted(SHORT_FIELDS)), value=st.text(alphabet=ALPHABET, min_size=1, max_size=7))
def test_a_secret_shorter_than_8_characters_is_a_config_error_that_does_not_echo_it(field: str, value: str) -> None:
    place, name = SHORT_FIELDS[field]
    with pytest.raises(ConfigError) as e:
        load(None, place(value))
    # The exact line: nothing of the value in it, whatever its characters.
    assert e.value.problems == [f"{name}: a secret must be at least 8 characters"]


IN_HEADER_FIELDS: dict[str, tuple[Any, str]] = {
    "checks.headers": (lambda v: {"checks": {"gateway_rate_limit": {"headers": {"X-Api-Key": v}}}},
                       "checks.gateway_rate_limit.headers: X-Api-Key: a header value cannot contain a line break"),
    "status.token": (lambda v: {"status": {"token": v}},
                     "status.token: cannot contain a line break (it is sent in an HTTP header)"),
    "elasticsearch.api_key": (lambda v: {"elasticsearch": {"api_key": v}},
                              "elasticsearch.api_key: cannot contain a line break (it is sent in an HTTP header)"),
}


@settings(max_examples=30, deadline=None, database=None)
@given(field=st.sampled_from(sorted(IN_HEADER_FIELDS)), value=secret_text().filter(lambda s: "\n" in s))
def test_a_header_secret_with_a_line_break_is_a_config_error_that_does_not_echo_it(field: str, value: str) -> None:
    place, line = IN_HEADER_FIELDS[field]
    with pytest.raises(ConfigError) as e:
        load(None, place(value))
    assert e.value.problems == [line]
