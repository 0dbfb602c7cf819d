"""``lucid-sim`` (or ``python -m lucid_sim``): run the simulated Lucid stack."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path

import yaml

from lucid_exporter import logs_setup

from . import containers as containers_sim
from . import host as host_sim
from .catalogue import default_catalogue
from .containers import ContainerSim, SimRefused
from .faults import FaultError, parse_spec
from .host import HostSim
from .stack import SimStack


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lucid-sim", description="run the simulated Lucid stack, with fault injection "
                                "and a clock that the control port moves on")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--base-port", type=int, default=18080, help="first service port (default 18080)")
    p.add_argument("--control-port", type=int, default=18079, help="control port: faults and the clock (default 18079)")
    p.add_argument("--profile", choices=["guide", "lucid"], default="guide",
                   help="how the services answer: guide = the troubleshooting guide's examples (default); "
                        "lucid = the real Lucid code (its paths, shapes, auth, rate limits and quirks)")
    p.add_argument("--write-config", type=Path, help="write an exporter config pointing at this stack")
    p.add_argument("--fault", action="append", default=[], metavar="SERVICE=KIND",
                   help="inject a fault at start (repeatable)")
    p.add_argument("--slot-seconds", type=float, default=5.0,
                   help="Lucid slot time: one block per slot (default 5; tests use ~1)")
    p.add_argument("--token-ttl", type=float, default=30 * 86400.0,
                   help="life of the monitoring token written with --write-config (seconds)")
    p.add_argument("--data-dir", type=Path,
                   help="the simulated data volume and backups (default: sim-data beside --write-config)")
    p.add_argument("--docker", action="store_true",
                   help="also run the Lucid containers (busybox, logging like Lucid) on a docker engine")
    p.add_argument("--docker-url", default=None, metavar="URL",
                   help=f"docker engine for --docker (default {containers_sim.DEFAULT_URL})")
    p.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"])
    p.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])
    return p


def build_stack(args: argparse.Namespace) -> tuple[SimStack, HostSim, ContainerSim | None]:
    from . import world as status_world

    docker = bool(getattr(args, "docker", False))
    slot_seconds = max(0.05, getattr(args, "slot_seconds", 5.0))
    token_ttl = getattr(args, "token_ttl", 30 * 86400.0)
    other_kinds = dict(host_sim.FAULT_KINDS)  # the host's and the containers' kinds: the same under both
    if docker:
        other_kinds.update(containers_sim.FAULT_KINDS)
    stack: SimStack
    if getattr(args, "profile", "guide") == "lucid":
        from . import real

        options = real.stack_options(set(default_catalogue()))
        options["extra_fault_kinds"] = {**options["extra_fault_kinds"], **other_kinds}
        stack = SimStack(host=args.host, base_port=args.base_port, control_port=args.control_port, **options)
        real.attach(stack, real.RealWorld(slot_seconds=slot_seconds, token_ttl=token_ttl))
    else:
        world = status_world.World(slot_seconds=slot_seconds, token_ttl=token_ttl)
        stack = SimStack(host=args.host, base_port=args.base_port, control_port=args.control_port,
                         route_factories=[status_world.routes(world)],
                         extra_fault_kinds={**status_world.FAULT_KINDS, **other_kinds},
                         config_contributors=[lambda stack: status_world.exporter_config(world, stack)])
        world.attach(stack)
    data_dir = args.data_dir or (args.write_config.parent / "sim-data" if args.write_config
                                 else Path(tempfile.mkdtemp(prefix="lucid-sim-")))
    host = host_sim.HostSim(stack, data_dir.resolve())
    stack.config_contributors.append(host.exporter_config)
    containers = None
    if docker:
        # After the host's contribution: enables the docker and log probes it disables.
        containers = ContainerSim(stack, getattr(args, "docker_url", None) or containers_sim.DEFAULT_URL)
        stack.config_contributors.append(containers.exporter_config)
    return stack, host, containers


def main(argv: list[str] | None = None) -> int:
    return run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    # The exporter's formatters (the sim already depends on the exporter for its catalogue): one
    # logfmt/JSON rendering for both; with no secret registered, its redaction changes nothing.
    logs_setup.setup("warning" if args.log_level == "warn" else args.log_level, args.log_format)
    stack, host, containers = build_stack(args)
    try:
        for spec in args.fault:
            service, kind = parse_spec(spec)
            stack.faults.add(service, kind)
    except FaultError as e:
        print(f"lucid-sim: {e}", file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            try:
                await stack.start()
                await host.start()
                if containers is not None:
                    await containers.start()
            except OSError as e:
                print(f"lucid-sim: cannot listen: {e.strerror}", file=sys.stderr)
                raise SystemExit(1) from None
            except SimRefused as e:
                print(f"lucid-sim: {e}", file=sys.stderr)
                raise SystemExit(1) from None
            if args.write_config:
                args.write_config.parent.mkdir(parents=True, exist_ok=True)
                args.write_config.write_text(yaml.safe_dump(stack.exporter_config(), sort_keys=False))
            print(f"sim: {len(stack.services)} services answering as {stack.profile!r}, control at "
                  f"http://{args.host}:{args.control_port}/", flush=True)
            if containers is not None:
                print(f"sim: {len(containers.services)} containers on the docker engine at {containers.base_url}",
                      flush=True)
            if args.write_config:
                print(f"sim: exporter config written to {args.write_config}", flush=True)
            await stop.wait()
        finally:
            # Also on a failed start: whatever did start is closed (and the sim's containers removed).
            if containers is not None:
                await containers.stop()
            await host.stop()
            await stack.stop()

    asyncio.run(main())
    return 0
