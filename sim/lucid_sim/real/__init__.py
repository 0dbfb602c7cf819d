"""The ``lucid`` personality of the sim (``lucid-sim --profile lucid``): every service answers as
the real Lucid code does (paths, shapes, auth, rate limiters, quirks), not as the troubleshooting
guide's examples (the ``guide`` personality, world.py, the default).

- state.py: what the services hold in memory, on the sim's clock;
- services.py: how each service answers a request (``RealServices.answer``), without sockets;
- faults.py: what each fault kind means here, and why some cannot be expressed.

This package wires them into a ``SimStack``: one catch-all route per service, the services' own
500 bodies for the ``error`` fault, the fault refusals, and the exporter config that reaches them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..catalogue import Service
from ..stack import SimStack
from ..world import WALLETS
from . import faults
from .http import Reply, Req
from .services import CORS_ORIGINS, RealServices
from .state import RealWorld

PROFILE = "lucid"
# Health paths of the real code that differ from the catalogue's /health.
HEALTH_PATHS = {"admin-interface": "/admin/health"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def stack_options(known: set[str]) -> dict[str, Any]:
    """The ``SimStack`` arguments of this personality."""
    return {
        "profile": PROFILE,
        "builtin_health": False,
        "extra_fault_kinds": faults.descriptions(),
        "fault_refusal": faults.refusal,
        "index_extras": {"fault_services": {kind: faults.services_of(kind, known) for kind in faults.KINDS}},
    }


def response(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.payload(),
                        headers={"Content-Type": reply.content_type, **reply.headers})


def attach(stack: SimStack, world: RealWorld) -> RealServices:
    """Make ``stack`` answer as the real services, from ``world``."""
    services = RealServices(world, set(stack.services), host=stack.host)

    def factory(stack: SimStack, service: Service) -> list[tuple[str, str, Handler]]:
        if service.name not in services.apps:
            return []

        async def handler(request: web.Request) -> web.StreamResponse:
            req = Req(request.method, request.path, request.headers, request.remote or "unknown")
            return response(services.answer(service.name, req))

        return [("*", "/{tail:.*}", handler)]

    stack.route_factories.append(factory)
    stack.error_response = lambda service: response(services.error_reply(service.name))
    stack.config_contributors.append(lambda st: exporter_config(world, st))
    world.attach(stack)
    return services


def exporter_config(world: RealWorld, stack: SimStack) -> dict[str, Any]:
    """What an exporter configured for the real code needs to reach this stack: the real health
    paths, and one bearer token that the blockchain API accepts alone (a JWT signed with its
    SECRET_KEY, user_id readonly_user), that the gateway accepts, and that the admin interface
    holds as a session. The addresses are the sim's (SimStack.exporter_config)."""
    return {
        "services": {name: {"health_path": path} for name, path in HEALTH_PATHS.items() if name in stack.services},
        # The exporter's API profile for the real code: its paths, shapes and auth (lucid_exporter's
        # catalogue/checks/lucid.yaml); the token passes the blockchain API's two auth layers alone.
        "status": {"profile": "lucid", "token": world.token, "blockchain_token": world.token,
                   "wallets": list(WALLETS[:2]), "cors_origins": list(CORS_ORIGINS),
                   "trongrid_url": stack.url("tron-client")},
    }


__all__ = ["PROFILE", "RealServices", "RealWorld", "Reply", "Req", "attach", "exporter_config", "stack_options"]
