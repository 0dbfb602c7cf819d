"""Command line: serve | check | doctor | config | healthcheck | sim."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from . import __version__, inventory, logs_setup
from .config import ConfigError, Settings, dump_redacted, load
from .engine import Engine, ProbeResult
from .probes import build_all
from .redact import redact

log = logging.getLogger("lucid_exporter")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML configuration file")
    p.add_argument("--log.level", dest="log_level", default=None, choices=["debug", "info", "warn", "error"],
                   help="log level (default info for serve; error for check and doctor, whose output says it all)")
    p.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"],
                   help="log format (default logfmt)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lucid-exporter", description="Prometheus exporter for the Lucid system")
    ap.add_argument("--version", action="version", version=f"lucid-exporter {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the exporter")
    _common(s)
    s.add_argument("--web.listen-address", dest="listen_address", help="host:port (overrides config)")
    c = sub.add_parser("check", help="run one probe round and print a table; exit 1 when a probe fails")
    _common(c)
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--target", help="only the probes of this service or backend")
    d = sub.add_parser("doctor", help="run the guide's methodology: find problems, print their diagnostics and "
                       "solutions; exit 1 when any is found")
    _common(d)
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.add_argument("--target", help="only the probes of this service or backend")
    g = sub.add_parser("config", help="print the effective configuration (secrets shown as <secret>)")
    _common(g)
    h = sub.add_parser("healthcheck", help="probe this host's exporter at /-/healthy (the image's HEALTHCHECK); "
                       "exit 0 when healthy, 1 otherwise", description=HEALTHCHECK_HELP)
    _common(h)
    h.add_argument("--user", default=os.environ.get("LUCID_HEALTHCHECK_USER"),
                   help="basic auth user (default $LUCID_HEALTHCHECK_USER)")
    h.add_argument("--password-file", type=Path, default=os.environ.get("LUCID_HEALTHCHECK_PASSWORD_FILE"),
                   help="file holding that user's password (default $LUCID_HEALTHCHECK_PASSWORD_FILE)")
    h.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    try:
        from .sim.cli import add_parser as add_sim
    except ModuleNotFoundError:  # the wheel and the image hold no simulator (pyproject.toml)
        return ap
    add_sim(sub)
    return ap


def load_settings(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Settings:
    """Load, or exit 2 with one line per problem (no traceback)."""
    try:
        settings = load(args.config, overrides)
        inventory.build(settings)
    except (ConfigError, inventory.CatalogueError) as e:
        lines = e.problems if isinstance(e, ConfigError) else str(e).splitlines()
        for line in lines:
            print(f"lucid-exporter: config error: {redact(line)}", file=sys.stderr)
        sys.exit(2)
    return settings


def _make_engine(settings: Settings) -> Engine:
    return Engine(settings, build_all(settings, inventory.build(settings)))


def cmd_serve(args: argparse.Namespace) -> int:
    overrides = {"web": {"listen_address": args.listen_address}} if args.listen_address else None
    settings = load_settings(args, overrides)
    from .server import serve

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        engine = _make_engine(settings)
        try:
            await serve(engine, settings, stop)
        except OSError as e:
            log.error("cannot listen", extra={"address": settings.web.listen_address, "error": e.strerror})
            raise SystemExit(1) from None

    asyncio.run(main())
    return 0


def _row(r: ProbeResult) -> dict[str, Any]:
    return {"probe": r.probe.kind, "target": r.probe.target, "success": r.success,
            "duration_seconds": round(r.duration, 4), "reason": r.reason, "error": redact(r.message)}


def _one_round(settings: Settings, target: str | None) -> list[ProbeResult]:
    """One probe round, for check and doctor; an unknown target exits 2."""

    async def main() -> list[ProbeResult]:
        engine = _make_engine(settings)
        try:
            chosen = None
            if target:
                chosen = engine.select(target)
                if not chosen:
                    print(f"lucid-exporter: unknown target {target!r}", file=sys.stderr)
                    raise SystemExit(2)
            rnd = await engine.collect(settings.probes.default_scrape_timeout_seconds, chosen)
            return rnd.results
        finally:
            await engine.close()

    return asyncio.run(main())


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    results = _one_round(settings, args.target)
    rows = [_row(r) for r in sorted(results, key=lambda r: (r.probe.kind, r.probe.target))]
    if args.json:
        print(json.dumps({"ok": all(r["success"] for r in rows), "probes": rows}, indent=2))
    else:
        widths = [max([len(h), *(len(str(r[k])) for r in rows)]) for h, k in
                  (("PROBE", "probe"), ("TARGET", "target"))]
        print(f"{'PROBE':<{widths[0]}}  {'TARGET':<{widths[1]}}  STATE  SECONDS  REASON     ERROR")
        for r in rows:
            state = "ok" if r["success"] else "FAIL"
            print(f"{r['probe']:<{widths[0]}}  {r['target']:<{widths[1]}}  {state:<5}  "
                  f"{r['duration_seconds']:>7.3f}  {r['reason']:<9}  {r['error']}")
        failing = sum(1 for r in rows if not r["success"])
        print(f"\n{len(rows)} probes, {failing} failing")
    return 0 if all(r["success"] for r in rows) else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    from . import doctor

    settings = load_settings(args)
    results = _one_round(settings, args.target)
    findings = doctor.evaluate(results, inventory.build(settings))
    if args.json:
        print(json.dumps(doctor.report_json(findings, results), indent=2))
    else:
        sys.stdout.write(redact(doctor.report_text(findings, results)))
    return 1 if findings else 0


def cmd_config(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    services = inventory.build(settings)
    for addr, names in inventory.shared_addresses(services):
        print(f"lucid-exporter: warning: services {', '.join(names)} share the address {redact(addr)}",
              file=sys.stderr)
    sys.stdout.write(dump_redacted(settings))
    return 0


HEALTHCHECK_HELP = """\
Reads the configuration serve reads (--config, LUCID_EXPORTER_* variables) and sends GET /-/healthy
to the exporter's listen address on this host (the loopback when it listens on all addresses), over
HTTPS when TLS is configured. Healthy: 200. With basic auth configured, the request carries the
--user/--password-file credentials when given (then only 200 is healthy); without them, the
exporter's 401 challenge also counts as healthy: it proves the process serves requests, and the
image needs no plaintext password (the config holds only bcrypt hashes). Exit 1 otherwise, with one
line saying why (Docker reserves exit 2, so a configuration error also exits 1)."""


def cmd_healthcheck(args: argparse.Namespace) -> int:
    import base64
    import ssl
    import urllib.error
    import urllib.request

    try:
        settings = load_settings(args)
    except SystemExit:  # the config error is printed already
        return 1
    web = settings.web
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(web.host, web.host)
    tls = web.tls_cert_file is not None
    url = f"{'https' if tls else 'http'}://{f'[{host}]' if ':' in host else host}:{web.port}/-/healthy"
    headers = {}
    if args.user and args.password_file:
        try:
            password = args.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as e:
            print(f"lucid-exporter: healthcheck: cannot read password file {args.password_file}: {e.strerror}")
            return 1
        token = base64.b64encode(f"{args.user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    context = None
    if tls:
        # Our own listener on the loopback: the certificate names the service, not the loopback
        # address, so it is not verified here (the check is liveness, not identity).
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=args.timeout,
                                    context=context) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
        challenged = status == 401 and e.headers.get("WWW-Authenticate", "").startswith("Basic")
        if challenged and web.basic_auth_users and "Authorization" not in headers:
            print(f"healthy: {url} answers, behind basic auth (401 challenge)")
            return 0
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        print(f"unhealthy: {url}: {redact(str(reason))}")
        return 1
    if status == 200:
        print(f"healthy: {url}")
        return 0
    print(f"unhealthy: {url} answered HTTP {status}")
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet = args.command in ("check", "doctor", "healthcheck")  # their output says it all
    level = getattr(args, "log_level", None) or ("error" if quiet else "info")
    logs_setup.setup(level, getattr(args, "log_format", "logfmt"))
    commands = {"serve": cmd_serve, "check": cmd_check, "config": cmd_config, "doctor": cmd_doctor,
                "healthcheck": cmd_healthcheck}
    if args.command == "sim":
        from .sim.cli import run as run_sim

        return run_sim(args)
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
