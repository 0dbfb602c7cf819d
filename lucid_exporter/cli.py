"""Command line: serve | check | doctor | config | rules | healthcheck (the simulator is ``lucid-sim``).

Every command ends with one line on stderr and a non-zero exit when something unexpected
happens (exit 2 for a configuration problem); a traceback only with ``--log.level=debug``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    from .config import Settings
    from .engine import Engine, ProbeResult

log = logging.getLogger("lucid_exporter")


def redact(text: str) -> str:
    """Secrets out of a text (redact.redact, imported when first needed: see main)."""
    from .redact import redact as redact_text

    return redact_text(text)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML configuration file")
    p.add_argument("--log.level", dest="log_level", default=None, choices=["debug", "info", "warn", "error"],
                   help="log level (default info for serve; error for check and doctor, whose output says it all)")
    p.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"],
                   help="log format (default logfmt)")
    p.add_argument("--web.config.file", dest="web_config_file", type=Path,
                   help="exporter-toolkit web configuration (tls_server_config, basic_auth_users); "
                   "overrides web.config_file")


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
    r = sub.add_parser("rules", help="render the alert rules pack (and its promtool tests) for your deployment")
    from .rules import RenderConfig

    defaults = RenderConfig()
    r.add_argument("--out", type=Path, required=True, help="directory for <cluster>.rules.yml and tests/")
    r.add_argument("--runbook-base", default=defaults.runbook_base, help="where docs/runbooks is published")
    r.add_argument("--dashboard-base", default=defaults.dashboard_base, help="Grafana's /d URL")
    r.add_argument("--job", default=defaults.job, help="the Prometheus job that scrapes the exporter")
    r.add_argument("--no-tests", action="store_true", help="do not write the promtool tests")
    h = sub.add_parser("healthcheck", help="probe this host's exporter at /-/healthy (the image's HEALTHCHECK); "
                       "exit 0 when healthy, 1 otherwise", description=HEALTHCHECK_HELP)
    _common(h)
    h.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    return ap


def load_settings(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Settings:
    """Load, or exit 2 with one line per problem (no traceback)."""
    from . import inventory
    from .config import ConfigError, load
    from .probes.status import resolve_checks

    web_file = getattr(args, "web_config_file", None)
    if web_file is not None:
        overrides = {**(overrides or {}), "web": {**(overrides or {}).get("web", {}), "config_file": str(web_file)}}
    try:
        settings = load(args.config, overrides)
        resolve_checks(settings, inventory.build(settings))
    except (ConfigError, inventory.CatalogueError) as e:
        lines = e.problems if isinstance(e, ConfigError) else str(e).splitlines()
        for line in lines:
            print(f"lucid-exporter: config error: {redact(line)}", file=sys.stderr)
        sys.exit(2)
    return settings


def _make_engine(settings: Settings) -> Engine:
    from . import inventory
    from .engine import Engine
    from .probes import build_all

    engine = Engine(settings, build_all(settings, inventory.build(settings)))
    _started()
    return engine


def _started() -> None:
    """Start-up is over: main() turned the garbage collector off meanwhile (its passes over the
    tens of thousands of objects that imports and pydantic's validators make were a tenth of the
    start-up). serve collects and freezes them once it is ready (server.settle_memory)."""
    gc.enable()


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio
    import signal

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
            log.error("cannot listen", extra={"address": settings.web.listen_address,
                                              "error": e.strerror or str(e)})
            raise SystemExit(1) from None

    asyncio.run(main())
    return 0


def _row(r: ProbeResult) -> dict[str, Any]:
    return {"probe": r.probe.kind, "target": r.probe.target, "success": r.success,
            "duration_seconds": round(r.duration, 4), "reason": r.reason, "error": redact(r.message)}


def _one_round(settings: Settings, target: str | None) -> list[ProbeResult]:
    """One probe round, for check and doctor; an unknown target exits 2."""
    import asyncio

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
    diagnosis = doctor.diagnose(results, settings)
    if args.json:
        print(redact(json.dumps(doctor.report_json(diagnosis), indent=2)))
    else:
        sys.stdout.write(redact(doctor.report_text(diagnosis)))
    return 0 if diagnosis.ok else 1


def cmd_config(args: argparse.Namespace) -> int:
    from . import inventory
    from .config import dump_redacted

    settings = load_settings(args)
    services = inventory.build(settings)
    for addr, names in inventory.shared_addresses(services):
        print(f"lucid-exporter: warning: services {', '.join(names)} share the address {redact(addr)}",
              file=sys.stderr)
    sys.stdout.write(dump_redacted(settings))
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from . import rules

    cfg = rules.RenderConfig(runbook_base=args.runbook_base.rstrip("/"),
                             dashboard_base=args.dashboard_base.rstrip("/"), job=args.job)
    try:
        written = rules.render(args.out, cfg, tests=not args.no_tests)
    except OSError as e:
        print(f"lucid-exporter: cannot write {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    print(f"{len(written)} files written to {args.out}")
    return 0


HEALTHCHECK_HELP = """\
Reads the configuration serve reads (--config, --web.config.file, LUCID_EXPORTER_* variables) and sends
GET /-/healthy to the exporter's listen address on this host (the loopback when it listens on all
addresses), over HTTPS when TLS is configured. /-/healthy needs no credentials, like Prometheus' own,
so the image holds no password. Healthy: 200. Exit 1 otherwise, with one line saying why (Docker
reserves exit 2, so a configuration error also exits 1)."""


def cmd_healthcheck(args: argparse.Namespace) -> int:
    from .server import check_health

    try:
        settings = load_settings(args)
    except SystemExit:  # the config error is printed already
        return 1
    ok, detail = check_health(settings, args.timeout)
    print(f"{'healthy' if ok else 'unhealthy'}: {redact(detail)}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv)[:1] == ["sim"]:
        # The sim left the product (it is not in the wheel or the image); one line, not argparse's usage.
        print("lucid-exporter: the simulated stack is its own command now: lucid-sim (pip install -e ./sim)",
              file=sys.stderr)
        return 2
    # Until the command's start-up is over (see _started); every import of the command's modules
    # happens from here on, which is why this module imports only the standard library at the top.
    gc.disable()
    # pydantic looks for plugins in every installed distribution's metadata when it builds its first
    # validator (7 ms at start-up); the exporter uses none. A value set by the user is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        return _main(argv)
    finally:
        gc.enable()


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    quiet = args.command in ("check", "doctor", "healthcheck")  # their output says it all
    level = getattr(args, "log_level", None) or ("error" if quiet else "info")
    from . import logs_setup

    logs_setup.setup(level, getattr(args, "log_format", "logfmt"))
    commands = {"serve": cmd_serve, "check": cmd_check, "config": cmd_config, "doctor": cmd_doctor,
                "rules": cmd_rules, "healthcheck": cmd_healthcheck}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # the last line of defence: one line, never a secret, never a traceback
        return report_unexpected(e, debug=level == "debug")


def report_unexpected(exc: BaseException, debug: bool) -> int:
    """One line on stderr for an exception nothing else handled (the traceback too with debug)."""
    if debug:
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    message = " ".join(str(exc).split())[:300]
    print(f"lucid-exporter: error: {type(exc).__name__}: {redact(message)}"
          + ("" if debug else " (--log.level=debug shows the traceback)"), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
