"""The Lucid status checks, as data, and the pure functions that turn a JSON reply into samples.

A check is one HTTP request to one service (path, method, headers, optional bearer token)
and a list of extractions, each turning one field of the reply into one metric. The
defaults below use the paths of the troubleshooting guide; the real Lucid services answer
at other paths with other fields (see docs/status-checks.md), so every check can be
remapped under ``checks:`` in the config, and new checks added, without code.

Field paths are dotted (``block_header.raw_data.timestamp``); an integer segment indexes
a list (``scores.0.score``), and ``a[0]`` is accepted as well.
"""

from __future__ import annotations

import dataclasses as dc
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .metrics import Sample

if TYPE_CHECKING:
    from .config import CheckConfig, ExtractionConfig

Agg = Literal["value", "bool", "len", "count_by", "map", "min", "max", "sum", "avg", "timestamp", "per_item"]
AGGS: tuple[str, ...] = ("value", "bool", "len", "count_by", "map", "min", "max", "sum", "avg", "timestamp",
                         "per_item")
CheckKind = Literal["json", "rate_limit", "cors", "auth_verify"]
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# Strings read as true by the ``bool`` aggregation (case-insensitive); anything else is false.
TRUTHY = frozenset({"true", "yes", "ok", "up", "healthy", "connected", "active", "enabled", "running", "pass",
                    "passed", "success", "valid", "1", "synced", "online", "operational"})


class ShapeError(ValueError):
    """The reply does not have the shape the check expects (reason ``parse``)."""


@dataclass(frozen=True, slots=True)
class Extraction:
    """One metric from one field of a reply.

    agg: value (the number), bool (1/0), len (of a list or object), count_by (items of a
    list counted by their ``by`` field, as label ``label``), map (an object of
    label -> number), min/max/sum/avg (of each item's ``item`` field over a list),
    timestamp (ISO-8601 or Unix seconds/milliseconds -> seconds), per_item (one series per
    item, labelled with its ``by`` field, valued by its ``item`` field; highest first,
    capped at ``cap`` or the configured default).
    """

    metric: str
    agg: Agg = "value"
    field: str = ""
    help: str = ""
    item: str = ""
    by: str = ""
    label: str = ""
    values: tuple[str, ...] = ()  # label values always exposed (0 when absent)
    labels: Mapping[str, str] = dc.field(default_factory=dict)
    type: Literal["gauge", "counter"] = "gauge"
    scale: float = 1.0
    cap: int | None = None
    only: Literal["", "wallets"] = ""  # per_item: keep only the configured wallets
    optional: bool = False  # a missing field is skipped instead of failing the check
    map: Mapping[str, str] = dc.field(default_factory=dict)  # label value renames


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    service: str
    path: str
    extractions: tuple[Extraction, ...] = ()
    method: str = "GET"
    headers: Mapping[str, str] = dc.field(default_factory=dict)
    auth: Literal["none", "token"] = "none"
    kind: CheckKind = "json"
    ok_metric: str = ""  # 1 on 2xx, 0 on 401/403 (the token may not read it)
    base: Literal["service", "trongrid"] = "service"
    url: str = ""  # absolute URL; overrides the service address and path
    help: str = ""


# -- extraction (pure) ------------------------------------------------------------------------
_SEG = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index in _SEG.findall(path):
        if index:
            out.append(int(index))
        elif name.isdigit():
            out.append(int(name))
        else:
            out.append(name)
    return out


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path; ShapeError when it is not there."""
    cur = data
    for seg in split_path(path):
        if isinstance(seg, int) and isinstance(cur, list):
            if not -len(cur) <= seg < len(cur):
                raise ShapeError(f"field {path!r}: index {seg} out of range")
            cur = cur[seg]
        elif isinstance(cur, dict) and str(seg) in cur:
            cur = cur[str(seg)]
        else:
            raise ShapeError(f"field {path!r} missing")
    return cur


def to_number(v: Any, where: str) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            raise ShapeError(f"{where}: not a finite number")
        return f
    if isinstance(v, str):
        try:
            return to_number(float(v.strip()), where)
        except ValueError:
            pass
    raise ShapeError(f"{where}: expected a number, got {type(v).__name__}")


def to_bool(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return 1.0 if v else 0.0
    if isinstance(v, str):
        return 1.0 if v.strip().lower() in TRUTHY else 0.0
    return 0.0


def to_timestamp(v: Any, where: str) -> float:
    """ISO-8601 (``Z`` or offset; naive means UTC) or Unix time in s, ms or µs -> Unix seconds."""
    if isinstance(v, str):
        s = v.strip()
        try:
            return to_timestamp(float(s), where)
        except (ValueError, ShapeError):
            pass
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ShapeError(f"{where}: not an ISO-8601 time or a Unix timestamp") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ShapeError(f"{where}: expected a time, got {type(v).__name__}")
    f = float(v)
    if f > 1e14:  # microseconds
        return f / 1e6
    if f > 1e11:  # milliseconds (TronGrid block timestamps)
        return f / 1e3
    return f


def _items(data: Any, ex: Extraction) -> list[Any]:
    value = get_path(data, ex.field) if ex.field else data
    if not isinstance(value, list):
        raise ShapeError(f"field {ex.field or '(root)'!r}: expected a list, got {type(value).__name__}")
    return value


def _item_value(it: Any, ex: Extraction) -> Any:
    return get_path(it, ex.item) if ex.item else it


def _label(ex: Extraction, raw: Any) -> str:
    s = str(raw) if not isinstance(raw, bool) else str(raw).lower()
    return ex.map.get(s, s)


def extract(ex: Extraction, data: Any, *, default_cap: int = 50, wallets: Iterable[str] = ()) -> list[Sample]:
    """Samples of one extraction; ShapeError on a reply of the wrong shape."""
    help_ = ex.help
    base = dict(ex.labels)

    def s(value: float, **extra: str) -> Sample:
        return Sample(ex.metric, value * ex.scale if ex.agg not in ("bool", "timestamp") else value,
                      {**base, **extra}, help_, ex.type)

    where = f"field {ex.field or '(root)'!r}"
    if ex.agg == "value":
        return [s(to_number(get_path(data, ex.field) if ex.field else data, where))]
    if ex.agg == "bool":
        return [s(to_bool(get_path(data, ex.field) if ex.field else data))]
    if ex.agg == "timestamp":
        return [s(to_timestamp(get_path(data, ex.field) if ex.field else data, where))]
    if ex.agg == "len":
        value = get_path(data, ex.field) if ex.field else data
        if not isinstance(value, list | dict):
            raise ShapeError(f"{where}: expected a list or an object, got {type(value).__name__}")
        return [s(len(value))]
    if ex.agg == "map":
        value = get_path(data, ex.field) if ex.field else data
        if not isinstance(value, dict):
            raise ShapeError(f"{where}: expected an object, got {type(value).__name__}")
        counts = {v: 0.0 for v in ex.values}
        for k, v in value.items():
            counts[_label(ex, k)] = counts.get(_label(ex, k), 0.0) + to_number(v, f"{where}.{k}")
        return [s(v, **{ex.label: k}) for k, v in counts.items()]
    items = _items(data, ex)
    if ex.agg == "count_by":
        counts = {v: 0.0 for v in ex.values}
        for it in items:
            k = _label(ex, get_path(it, ex.by))
            counts[k] = counts.get(k, 0.0) + 1
        return [s(v, **{ex.label: k}) for k, v in counts.items()]
    if ex.agg == "per_item":
        allowed = set(wallets) if ex.only == "wallets" else None
        pairs: list[tuple[float, str]] = []
        for it in items:
            key = _label(ex, get_path(it, ex.by))
            if allowed is not None and key not in allowed:
                continue
            pairs.append((to_number(_item_value(it, ex), f"{where} item {ex.item!r}"), key))
        pairs.sort(key=lambda p: (-p[0], p[1]))
        cap = ex.cap if ex.cap is not None else default_cap
        kept = [s(v, **{ex.label: k}) for v, k in pairs[:cap]]
        if allowed is not None:  # the operator's own list (wallets) is bounded already
            return kept
        # Per-item series are capped (highest first); how many were left out is itself a series,
        # so that a cap hit is visible rather than silent.
        return [*kept, Sample(f"{ex.metric}_omitted_series", float(max(0, len(pairs) - cap)), dict(ex.labels),
                              f"Items past the series cap of {ex.metric} (not exposed per {ex.label})")]
    numbers = [to_number(_item_value(it, ex), f"{where} item {ex.item!r}") for it in items]
    if not numbers:
        return [] if ex.agg != "sum" else [s(0.0)]
    if ex.agg == "min":
        return [s(min(numbers))]
    if ex.agg == "max":
        return [s(max(numbers))]
    if ex.agg == "sum":
        return [s(sum(numbers))]
    if ex.agg == "avg":
        return [s(sum(numbers) / len(numbers))]
    raise ShapeError(f"unknown aggregation {ex.agg!r}")


def extract_all(check: Check, data: Any, *, default_cap: int = 50,
                wallets: Iterable[str] = ()) -> tuple[list[Sample], list[str]]:
    """All extractions of a check: (samples, problems). A missing optional field is no problem."""
    samples: list[Sample] = []
    problems: list[str] = []
    wallets = tuple(wallets)
    for ex in check.extractions:
        try:
            samples.extend(extract(ex, data, default_cap=default_cap, wallets=wallets))
        except ShapeError as e:
            if not ex.optional:
                problems.append(f"{ex.metric}: {e}")
    return samples, problems


# -- the defaults: the guide's paths --------------------------------------------------------------
def _x(metric: str, agg: Agg, fld: str = "", help: str = "", **kw: Any) -> Extraction:
    if "values" in kw:
        kw["values"] = tuple(kw["values"])
    return Extraction(metric, agg, fld, help, **kw)


_PARTICIPANT_STATES = ("active", "inactive", "suspended")
_ANCHOR_STATES = ("pending", "processing", "completed", "failed")
PIPELINE_STATES = ("initializing", "recording", "processing", "finalizing", "completed", "failed")
_NODE_STATES = ("active", "inactive", "suspended", "pending")
_WALLET_STATES = ("active", "locked", "error")
_TX_STATES = ("pending", "confirmed", "failed")

DEFAULT_CHECKS: tuple[Check, ...] = (
    # Blockchain engine (guide: Consensus Failures)
    Check("consensus_status", "blockchain-engine", "/api/v1/consensus/status", (
        _x("lucid_consensus_round", "value", "current_round", "Current consensus round"),
        _x("lucid_consensus_reached", "bool", "consensus_reached", "1 when the current round reached consensus"),
        _x("lucid_consensus_active_validators", "value", "active_validators", "Validators taking part",
           optional=True),
    )),
    Check("blocks_latest", "blockchain-engine", "/api/v1/blocks/latest", (
        _x("lucid_blockchain_block_height", "value", "height", "Height of the latest block"),
        _x("lucid_blockchain_latest_block_timestamp_seconds", "timestamp", "timestamp",
           "Time of the latest block (Unix seconds)"),
    )),
    Check("consensus_poot_scores", "blockchain-engine", "/api/v1/consensus/poot-scores", (
        _x("lucid_consensus_poot_score_nodes", "len", "scores", "Nodes with a PoOT score in consensus"),
        _x("lucid_consensus_poot_score_min", "min", "scores", "Lowest PoOT score seen by consensus", item="score"),
        _x("lucid_consensus_poot_score_max", "max", "scores", "Highest PoOT score seen by consensus",
           item="score"),
    )),
    Check("consensus_participants", "blockchain-engine", "/api/v1/consensus/participants", (
        _x("lucid_consensus_participants", "count_by", "participants", "Consensus participants by status",
           by="status", label="status", values=_PARTICIPANT_STATES),
    )),
    # Session anchoring (guide: Session Anchoring Failures)
    Check("anchoring_status", "session-anchoring", "/api/v1/anchoring/status", (
        _x("lucid_anchoring_sessions", "map", "sessions", "Sessions by anchoring state", label="state",
           values=_ANCHOR_STATES),
        _x("lucid_anchoring_last_anchor_timestamp_seconds", "timestamp", "last_anchor_time",
           "Time of the last anchored session (Unix seconds)"),
    )),
    Check("anchoring_merkle_trees", "session-anchoring", "/api/v1/anchoring/merkle-trees", (
        _x("lucid_anchoring_merkle_trees", "count_by", "trees", "Merkle trees by status", by="status",
           label="status", values=("built", "pending", "failed")),
    )),
    Check("anchoring_blockchain_status", "session-anchoring", "/api/v1/anchoring/blockchain-status", (
        _x("lucid_anchoring_blockchain_connected", "bool", "connected",
           "1 when session anchoring reaches the blockchain engine"),
    )),
    # Session pipeline (guide: Session Pipeline Failures)
    Check("pipeline_status", "session-pipeline", "/api/v1/pipeline/status", (
        _x("lucid_pipeline_sessions_processed_total", "value", "processed_sessions", "Sessions processed",
           type="counter"),
        _x("lucid_pipeline_last_transition_timestamp_seconds", "timestamp", "last_transition_time",
           "Time a session last changed pipeline state (Unix seconds)"),
    )),
    Check("pipeline_sessions", "session-pipeline", "/api/v1/pipeline/sessions", (
        _x("lucid_pipeline_sessions", "count_by", "sessions", "Sessions by pipeline state", by="state",
           label="state", values=PIPELINE_STATES),
    )),
    # Chunk processor (guide: Chunk Processing Failures)
    Check("processing_status", "chunk-processor", "/api/v1/processing/status", (
        _x("lucid_chunks_processed_total", "value", "processed_chunks", "Chunks processed", type="counter"),
        _x("lucid_chunks_failed_total", "value", "failed_chunks", "Chunks that failed processing",
           type="counter"),
    )),
    Check("processing_queue", "chunk-processor", "/api/v1/processing/queue", (
        _x("lucid_chunk_queue_depth", "value", "queue_size", "Chunks waiting to be processed"),
    )),
    Check("processing_encryption", "chunk-processor", "/api/v1/processing/encryption-status", (
        _x("lucid_chunk_encryption_ok", "bool", "status", "1 when chunk encryption works"),
    )),
    # RDP manager, resource monitor (guide: RDP Connection Failures, Resource Monitoring Failures)
    Check("ports_status", "rdp-manager", "/api/v1/ports/status", (
        _x("lucid_rdp_ports", "value", "available_ports", "RDP ports by state", labels={"state": "available"}),
        _x("lucid_rdp_ports", "value", "allocated_ports", "RDP ports by state", labels={"state": "allocated"}),
    )),
    Check("rdp_status", "rdp-manager", "/api/v1/rdp/status", (
        _x("lucid_rdp_sessions_active", "value", "active_sessions", "Active RDP sessions"),
    )),
    Check("monitoring_status", "resource-monitor", "/api/v1/monitoring/status", (
        _x("lucid_resource_monitor_last_sample_timestamp_seconds", "timestamp", "last_collection",
           "Time of the resource monitor's last sample (Unix seconds)"),
    )),
    Check("monitoring_metrics", "resource-monitor", "/api/v1/monitoring/metrics", (
        _x("lucid_resource_monitor_sessions", "len", "sessions", "Sessions the resource monitor samples"),
    )),
    # Node management (guide: Node Registration Failures, PoOT Score Calculation Failures)
    Check("nodes_status", "node-management", "/api/v1/nodes/status", (
        _x("lucid_nodes_registered", "value", "registered_nodes", "Registered nodes"),
    )),
    Check("nodes_list", "node-management", "/api/v1/nodes/list", (
        _x("lucid_nodes", "count_by", "nodes", "Nodes by status", by="status", label="status",
           values=_NODE_STATES),
    )),
    Check("nodes_health", "node-management", "/api/v1/nodes/health", (
        _x("lucid_nodes_unhealthy", "value", "unhealthy_nodes", "Nodes failing their health check"),
    )),
    Check("poot_scores", "node-management", "/api/v1/poot/scores", (
        _x("lucid_poot_score", "per_item", "scores", "PoOT score by node (highest first, capped)", item="score",
           by="node_id", label="node"),
        _x("lucid_poot_score_nodes", "len", "scores", "Nodes with a PoOT score"),
        _x("lucid_poot_score_min", "min", "scores", "Lowest PoOT score over all nodes", item="score"),
        _x("lucid_poot_score_avg", "avg", "scores", "Average PoOT score over all nodes", item="score"),
        _x("lucid_poot_score_max", "max", "scores", "Highest PoOT score over all nodes", item="score"),
    )),
    Check("poot_participation", "node-management", "/api/v1/poot/participation", (
        _x("lucid_poot_participation_ratio", "value", "participation_rate", "Share of nodes taking part in PoOT"),
    )),
    # Admin (guide: Admin Dashboard Not Loading, RBAC Permission Errors)
    Check("admin_permissions", "admin-interface", "/api/v1/admin/permissions", (
        _x("lucid_admin_permissions", "len", "permissions", "Permissions of the monitoring token"),
    ), auth="token"),
    Check("admin_users_roles", "admin-interface", "/api/v1/admin/users/roles", (
        _x("lucid_admin_rbac_roles", "len", "roles", "RBAC roles defined"),
    ), auth="token"),
    Check("admin_permissions_matrix", "admin-interface", "/api/v1/admin/permissions/matrix", (),
          auth="token", ok_metric="lucid_admin_rbac_ok"),
    Check("admin_roles_assignments", "admin-interface", "/api/v1/admin/roles/assignments", (
        _x("lucid_admin_role_assignments", "len", "assignments", "Role assignments"),
    ), auth="token"),
    # TRON (guide: TRON Network Connection Failures, Wallet Management Failures, USDT Transaction Failures)
    Check("tron_network_status", "tron-client", "/api/v1/tron/network-status", (
        _x("lucid_tron_network_connected", "bool", "connected", "1 when the TRON client is connected"),
        _x("lucid_tron_latest_block", "value", "latest_block", "Latest TRON block the client has seen"),
        _x("lucid_tron_latest_block_timestamp_seconds", "timestamp", "block_timestamp",
           "Time of the latest TRON block the client has seen (Unix seconds)"),
    )),
    Check("tron_connectivity", "tron-client", "/api/v1/tron/connectivity", (
        _x("lucid_tron_endpoints_reachable", "sum", "endpoints", "TRON API endpoints the client reaches",
           item="reachable"),
    )),
    Check("trongrid_nowblock", "tron-client", "/wallet/getnowblock", (
        _x("lucid_trongrid_latest_block", "value", "block_header.raw_data.number", "Latest block on TronGrid"),
        _x("lucid_trongrid_latest_block_timestamp_seconds", "timestamp", "block_header.raw_data.timestamp",
           "Time of TronGrid's latest block (Unix seconds)"),
    ), base="trongrid"),
    Check("wallets_status", "wallet-manager", "/api/v1/wallets/status", (
        _x("lucid_tron_wallets", "count_by", "wallets", "Wallets by status", by="status", label="status",
           values=_WALLET_STATES),
    )),
    Check("usdt_transactions_status", "usdt-manager", "/api/v1/usdt/transactions/status", (
        _x("lucid_usdt_transactions", "count_by", "transactions", "Recent USDT transactions by status",
           by="status", label="status", values=_TX_STATES),
    )),
    Check("usdt_balance", "usdt-manager", "/api/v1/usdt/balance", (
        _x("lucid_usdt_balance", "per_item", "balances", "USDT balance of each configured wallet",
           item="balance_usdt", by="address", label="wallet", only="wallets"),
    )),
    # API gateway (guide: Rate Limiting Not Working, CORS Errors), auth (JWT Token Validation Failures)
    Check("gateway_rate_limit", "api-gateway", "/api/v1/test", kind="rate_limit"),
    Check("gateway_cors", "api-gateway", "/api/v1/test", kind="cors"),
    Check("auth_verify", "auth-service", "/verify", auth="token", kind="auth_verify"),
)


# -- config merge -------------------------------------------------------------------------------
def _from_config_extraction(e: ExtractionConfig) -> Extraction:
    return Extraction(
        metric=e.metric, agg=e.agg, field=e.field, help=e.help, item=e.item, by=e.by, label=e.label,
        values=tuple(e.values), labels=dict(e.labels), type=e.type, scale=e.scale, cap=e.cap, only=e.only,
        optional=e.optional, map=dict(e.map),
    )


def validate_extraction(e: Extraction) -> list[str]:
    problems: list[str] = []
    if not _NAME.match(e.metric) or not e.metric.startswith("lucid_"):
        problems.append(f"metric {e.metric!r}: must be a valid metric name starting with lucid_")
    if e.type == "counter" and not e.metric.endswith("_total"):
        problems.append(f"metric {e.metric!r}: a counter's name must end in _total")
    if e.agg in ("count_by", "map", "per_item") and not _LABEL.match(e.label):
        problems.append(f"metric {e.metric!r}: {e.agg} needs a valid label name")
    if e.agg in ("count_by", "per_item") and not e.by:
        problems.append(f"metric {e.metric!r}: {e.agg} needs `by` (the field to group by)")
    for k in e.labels:
        if not _LABEL.match(k):
            problems.append(f"metric {e.metric!r}: invalid label name {k!r}")
    return problems


def merge(defaults: Sequence[Check], overrides: Mapping[str, CheckConfig]) -> tuple[list[Check], list[str]]:
    """Defaults with the config's ``checks:`` applied: (checks, problems). Disabled checks are dropped."""
    by_name = {c.name: c for c in defaults}
    problems: list[str] = []
    for name, o in overrides.items():
        base = by_name.get(name)
        if base is None:
            if not o.enabled:
                continue
            if not o.service or not (o.path or o.url):
                problems.append(f"checks.{name}: a new check needs `service` and `path` (or `url`)")
                continue
            base = Check(name, o.service, o.path or "/")
        if not o.enabled:
            by_name.pop(name, None)
            continue
        extractions = base.extractions
        if o.metrics is not None:
            extractions = tuple(_from_config_extraction(e) for e in o.metrics)
        if o.fields:
            known = {e.metric for e in extractions}
            for metric in o.fields:
                if metric not in known:
                    problems.append(f"checks.{name}.fields.{metric}: the check has no such metric")
            extractions = tuple(replace(e, field=o.fields.get(e.metric, e.field)) for e in extractions)
        if o.items:
            extractions = tuple(replace(e, item=o.items.get(e.metric, e.item)) for e in extractions)
        merged = replace(
            base,
            service=o.service or base.service,
            path=o.path if o.path is not None else base.path,
            url=o.url.public if o.url is not None else base.url,
            method=(o.method or base.method).upper(),
            headers={**base.headers, **{k: v.get_secret_value() for k, v in o.headers.items()}},
            auth=o.auth or base.auth,
            ok_metric=o.ok_metric if o.ok_metric is not None else base.ok_metric,
            extractions=extractions,
        )
        for e in merged.extractions:
            problems.extend(f"checks.{name}: {p}" for p in validate_extraction(e))
        by_name[name] = merged
    return list(by_name.values()), problems
