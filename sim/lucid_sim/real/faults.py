"""The fault kinds of the ``lucid`` personality: what each one means in the real code's answers,
which services it applies to, and why some cannot be expressed at all.

Every kind of the ``guide`` personality keeps its name here. Where the real code cannot show it
(its answer is a constant, or the state does not exist), the description says so and
``PUT /faults/{service}/{kind}`` answers 400 with that reason: such a fault is unobservable on a
real deployment, which is exactly what the exporter and the alerts have to cope with. The kinds
that only the real code makes possible (a dependency failing inside a health map, a tuple body,
a process that is up but not initialised, ...) are added.

Host and container kinds (host.py, containers.py) are not the personality's: they mean the same
under both, and this module never refuses them.
"""

from __future__ import annotations

# The five containers that run the combined TRON app (payment_systems/tron/main.py).
TRON_COMBINED = ("tron-client", "payout-router", "usdt-manager", "trx-staking", "payment-gateway")
# Those whose unused standalone app (``*_main.py``) returns a Python tuple when not healthy.
TRON_STANDALONE = ("payout-router", "usdt-manager", "trx-staking", "payment-gateway")

ALL = "*"

# kind -> (description, the services it applies to, or ALL). A refused kind has no services.
KINDS: dict[str, tuple[str, tuple[str, ...] | str]] = {
    # -- the sim's HTTP kinds -------------------------------------------------------------------
    "down": ("connection refused (the listener is closed); the likeliest real state: most images built at "
             "HEAD die on import", ALL),
    "hang": ("accepts the connection and never answers", ALL),
    "error": ("HTTP 500 with the service's own error body: LUCID_ERR_5000 JSON (auth, sessions), "
              "{error,message,timestamp} (blockchain API), {status: error, timestamp, error} (combined TRON app), "
              "{detail} (node-management), plain-text 'Internal Server Error' (gateway, storage, RDP manager, "
              "wallet manager)", ALL),
    "garbage": ("HTTP 200 with invalid JSON (a proxy cutting the body: no Lucid service does this itself)", ALL),
    "unhealthy": ("the service's own unhealthy answer: 503 {detail: Health check failed} (pipeline, recorder, "
                  "xrdp, resource-monitor), 200 status unhealthy (chunk-processor, session-storage, session-api, "
                  "wallet-manager: database 'error: ...'), 503 status unhealthy with a service in error "
                  "(combined TRON app), red (elasticsearch); refused where the real code always answers "
                  "healthy (auth: degraded at worst, gateway, blockchain API, rdp-manager, session-controller, "
                  "node-management, admin)",
                  ("session-pipeline", "session-recorder", "chunk-processor", "session-storage", "session-api",
                   "xrdp", "resource-monitor", "wallet-manager", "elasticsearch", *TRON_COMBINED)),
    "degraded": ("elasticsearch: yellow. Refused elsewhere: auth is degraded only through a dependency "
                 "(database_down, redis_down); the combined TRON app's checks return only healthy/unhealthy/"
                 "unknown, so it never answers degraded (tuple_degraded is the standalone app's); the other "
                 "services have no degraded state", ("elasticsearch",)),
    # -- the guide's status kinds, as the real code can show them --------------------------------
    "consensus_stall": ("not expressible: the real blockchain API answers constants (height 12345, round 12345, "
                        "last_block_time always now), so a stalled chain is unobservable in its answers", ()),
    "poot_collapsed": ("node-management: every node's PoOT proof has confidence_score 0.02 (GET /poot/{node_id}); "
                       "the blockchain API has no PoOT route", ("node-management",)),
    "poot_missing": ("node-management: GET /poot/{node_id} answers 404 {detail: PoOT proof not found} for every "
                     "node; the blockchain API has no PoOT route", ("node-management",)),
    "anchoring_backlog": ("not expressible: the real anchoring status is a constant (5 pending, 2 processing, "
                          "150 completed today), so a backlog is unobservable in its answers", ()),
    "pipeline_stuck": ("session-pipeline: no pipeline changes state and the stage chunk counters stop; new "
                       "pipelines stay 'created' (no route exposes a last-transition time)", ("session-pipeline",)),
    "chunk_queue_growing": ("chunk-processor: metrics.queue_size grows (refreshed every 10 s), "
                            "metrics.chunks_processed stops", ("chunk-processor",)),
    "encryption_failure": ("chunk-processor: metrics.chunks_failed grows (no route names the cause; the log says "
                           "'Failed to process chunk <id>: ...')", ("chunk-processor",)),
    "port_pool_exhausted": ("rdp-manager: /health available_ports 0 and active_servers = max_servers (50); "
                            "status stays healthy", ("rdp-manager",)),
    "monitoring_stalled": ("resource-monitor: /api/v1/metrics/summary collection_active false, per-session "
                           "samples stop (their timestamp ages)", ("resource-monitor",)),
    "node_deregistered": ("node-management: a node disappears from GET /nodes", ("node-management",)),
    "rbac_roles_missing": ("admin-interface: the monitoring admin loses its permissions: "
                           "/admin/api/v1/dashboard/overview answers 403 {detail: Permission denied: "
                           "dashboard:view}", ("admin-interface",)),
    "tron_unreachable": ("combined TRON app: TronGrid unreachable: /api/v1/tron/network/status answers 500 "
                         "{detail: Failed to get network status: ...}, /network/health status unhealthy, /health "
                         "503 with dependencies.tron_network unhealthy", TRON_COMBINED),
    "wallet_access_error": ("wallet-manager: the wallets are 'locked' (the real statuses are active, inactive, "
                            "locked, archived: there is no 'error')", ("wallet-manager",)),
    "usdt_failing": ("not expressible: the real USDT transactions list is always empty", ()),
    "wallet_balance_low": ("not expressible: the real USDT balance is a constant 1000.0", ()),
    "rate_limiter_off": ("api-gateway: RATE_LIMIT_ENABLED=false: no 429 ever (and, as always on the real "
                         "gateway, no X-RateLimit-* header on allowed answers)", ("api-gateway",)),
    "cors_origin_rejected": ("api-gateway: CORS_ORIGINS no longer lists the origin: every preflight answers 400 "
                             "'Disallowed CORS origin'", ("api-gateway",)),
    "token_verification_failing": ("not expressible: the real auth service already refuses every token "
                                   "(POST /auth/verify is always 401: AuthMiddleware is never registered)", ()),
    # -- kinds only the real code makes possible --------------------------------------------------
    "not_initialized": ("the process is up but its manager is not: 503 {detail: ... not initialized} (pipeline, "
                        "recorder, xrdp, resource-monitor, session-storage), 503 status unhealthy "
                        "(chunk-processor), 200 status unhealthy (session-api), 200 database not_initialized "
                        "(wallet-manager), 200 healthy with zero counts (rdp-manager: available_ports 0), "
                        "integrations {} (session-controller), /nodes 503 (node-management), 503 with services "
                        "'starting' (combined TRON app)",
                        ("session-pipeline", "session-recorder", "chunk-processor", "session-storage", "session-api",
                         "rdp-manager", "xrdp", "session-controller", "resource-monitor", "node-management",
                         "wallet-manager", *TRON_COMBINED)),
    "database_down": ("MongoDB unreachable from the service: auth degraded with dependencies.database false "
                      "(HTTP 200), wallet-manager status unhealthy with database 'error: ...' (HTTP 200), "
                      "session-api and session-storage unhealthy (HTTP 200), combined TRON app 503 with "
                      "dependencies.mongodb unhealthy",
                      ("auth-service", "wallet-manager", "session-api", "session-storage", *TRON_COMBINED)),
    "redis_down": ("Redis unreachable from the service: auth degraded with dependencies.redis false (HTTP 200) "
                   "and its rate limiter fails open (no X-RateLimit-* headers); combined TRON app 503 with "
                   "dependencies.redis unhealthy", ("auth-service", *TRON_COMBINED)),
    "hardware_wallet_unavailable": ("auth-service: dependencies.hardware_wallet 'unavailable'; status stays "
                                    "healthy (the real code never lets it change status)", ("auth-service",)),
    "hardware_wallet_error": ("auth-service: dependencies.hardware_wallet 'error' (the check raised); status "
                              "stays healthy", ("auth-service",)),
    "hardware_wallet_disabled": ("auth-service: dependencies.hardware_wallet 'disabled' "
                                 "(ENABLE_HARDWARE_WALLET=false): off, not down", ("auth-service",)),
    "tuple_unhealthy": ("the container runs its standalone *_main.py, whose service is not initialised: HTTP 200 "
                        "with the Python tuple [{status: unhealthy, service_initialized: false, ...}, 503]",
                        TRON_STANDALONE),
    "tuple_degraded": ("the container runs its standalone *_main.py, whose stats call fails: HTTP 200 with "
                       "[{status: degraded, service_initialized: true, ...}, 503]", TRON_STANDALONE),
    "processor_stopped": ("chunk-processor: the worker loop is not running: HTTP 200 with status 'stopped', "
                          "is_running false; nothing is processed", ("chunk-processor",)),
    "trusted_hosts_unset": ("admin-interface: TRUSTED_HOSTS unset (the real default): every request, "
                            "/admin/health included, answers 400 text/plain 'Invalid host header'",
                            ("admin-interface",)),
}


_STATIC = "its health is a static {status: healthy} that checks nothing"
# Why a kind that applies elsewhere cannot be set on one service: (kind, service) -> reason.
REASONS: dict[tuple[str, str], str] = {
    ("unhealthy", "auth-service"): "the real auth service never answers unhealthy: degraded at worst "
                                   "(database_down, redis_down); without MongoDB at start it exits (down)",
    ("degraded", "auth-service"): "the auth service is degraded only through a dependency: use database_down or "
                                  "redis_down",
    ("not_initialized", "auth-service"): "without MongoDB at start the auth service exits: use down",
    **{(kind, s): _STATIC for kind in ("unhealthy", "degraded")
       for s in ("api-gateway", "blockchain-engine", "session-anchoring", "node-management", "admin-interface")},
    **{(kind, "rdp-manager"): "its health is always healthy, even before init (see not_initialized, "
                              "port_pool_exhausted)" for kind in ("unhealthy", "degraded")},
    **{(kind, "session-controller"): "its health is always healthy: fault a peer (recorder, processor, xrdp, "
                                     "rdp-manager, resource-monitor), it shows in integrations"
       for kind in ("unhealthy", "degraded")},
    **{("degraded", s): "the combined TRON app never answers degraded: its checks return only healthy, unhealthy "
                        "or unknown (see tuple_degraded for the standalone app)" for s in TRON_COMBINED},
}


def descriptions() -> dict[str, str]:
    """kind -> description, as the control port lists them; a refused kind says so."""
    out = {}
    for kind, (text, services) in KINDS.items():
        out[kind] = text if services else f"{text}; PUT answers 400"
    return out


def services_of(kind: str, known: set[str]) -> list[str]:
    """The services ``kind`` applies to, among ``known``."""
    services = KINDS[kind][1]
    return sorted(known) if services == ALL else sorted(s for s in services if s in known)


def refusal(service: str, kind: str) -> str | None:
    """Why ``kind`` cannot be set on ``service`` under this personality (one line), or None."""
    if kind not in KINDS:
        return None  # a host or container kind: the same under both personalities
    text, services = KINDS[kind]
    if services == ALL or service in services:
        return None
    if not services:
        return text
    if (kind, service) in REASONS:
        return REASONS[kind, service]
    return f"has no meaning on {service} under the lucid personality; it applies to {', '.join(services)}"
