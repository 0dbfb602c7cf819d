"""MongoDB reply parsing: replies recorded from SecantusDB, and hand-built replies (shaped like
MongoDB 7's) for what a single SecantusDB cannot show: members down or RECOVERING, lag, locks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import errors as merr

from lucid_exporter.config import MongoDBConfig, RequiredIndex
from lucid_exporter.metrics import Sample
from lucid_exporter.probes.mongodb import (
    MongoProbe,
    _Client,
    connection_status_samples,
    current_op_samples,
    db_stats_samples,
    index_present,
    mongo_reason,
    replset_error_samples,
    replset_samples,
    server_status_samples,
)

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "foundation"


def load(name: str) -> Any:
    return json_util.loads((FIX / name).read_text())


def val(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [s.value for s in samples if s.name == name and labels.items() <= dict(s.labels).items()]
    assert len(found) <= 1, f"{name}{labels}: {len(found)} series"
    return found[0] if found else None


def test_mongodb_server_status_recorded_from_secantus() -> None:
    s = server_status_samples(load("mongodb_serverstatus.json"))
    assert val(s, "lucid_mongodb_connections_current") == 3
    assert val(s, "lucid_mongodb_connections_created_total") == 6
    assert val(s, "lucid_mongodb_op_counters_total", type="command") == 23
    assert val(s, "lucid_mongodb_memory_resident_bytes") == 56 * 1024 * 1024
    assert val(s, "lucid_mongodb_cursors_open") == 0
    assert all(x.type == "counter" for x in s if x.name.endswith("_total"))


def test_mongodb_rs_status_single_primary_recorded_from_secantus() -> None:
    s = replset_samples(load("mongodb_replsetgetstatus.json"))
    assert val(s, "lucid_mongodb_replset_initialized") == 1
    assert val(s, "lucid_mongodb_replset_my_state", set="secantus") == 1
    assert val(s, "lucid_mongodb_replset_member_optime_lag_seconds", member="127.0.0.1:29202") == 0


def test_mongodb_replica_member_down_and_recovering() -> None:
    s = replset_samples(load("mongodb_replsetgetstatus_degraded.json"))
    assert val(s, "lucid_mongodb_replset_member_state", member="lucid-mongodb:27017") == 1
    assert val(s, "lucid_mongodb_replset_member_state", member="lucid-mongodb-3:27017") == 3
    assert val(s, "lucid_mongodb_replset_member_state", member="lucid-mongodb-4:27017") == 8
    assert val(s, "lucid_mongodb_replset_member_health", member="lucid-mongodb-4:27017") == 0
    assert val(s, "lucid_mongodb_replset_members", set="rs0") == 4
    assert val(s, "lucid_mongodb_replset_members_healthy", set="rs0") == 3
    assert val(s, "lucid_mongodb_replset_member_uptime_seconds", member="lucid-mongodb-3:27017") == 120


def test_mongodb_secondary_lag_behind_primary_in_seconds() -> None:
    s = replset_samples(load("mongodb_replsetgetstatus_degraded.json"))
    assert val(s, "lucid_mongodb_replset_member_optime_lag_seconds", member="lucid-mongodb-2:27017") == 12
    assert val(s, "lucid_mongodb_replset_member_optime_lag_seconds", member="lucid-mongodb-3:27017") == 8430
    # A down member has no meaningful optime: no lag series rather than 56 years.
    assert val(s, "lucid_mongodb_replset_member_optime_lag_seconds", member="lucid-mongodb-4:27017") is None


def test_mongodb_replica_set_not_initiated_needs_rs_initiate() -> None:
    reply = load("mongodb_notyetinitialized.json")
    err = merr.OperationFailure(reply["errmsg"], reply["code"], reply)
    s = replset_error_samples(err.code)
    assert val(s, "lucid_mongodb_replset_initialized") == 0
    assert mongo_reason(err)[0] != "auth"


def test_mongodb_authentication_from_connection_status() -> None:
    assert val(connection_status_samples(load("mongodb_connectionstatus.json")), "lucid_mongodb_authenticated") == 0
    authed = {"authInfo": {"authenticatedUsers": [{"user": "lucid", "db": "admin"}]}, "ok": 1.0}
    assert val(connection_status_samples(authed), "lucid_mongodb_authenticated") == 1


def test_mongodb_failed_login_is_reason_auth() -> None:
    err = merr.OperationFailure("authentication failed", 18, {"ok": 0.0, "code": 18,
                                                             "codeName": "AuthenticationFailed"})
    assert mongo_reason(err)[0] == "auth"
    sel = merr.ServerSelectionTimeoutError("authentication failed, full error: {'code': 18}, Timeout: 1.0s")
    assert mongo_reason(sel)[0] == "auth"
    down = merr.ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connect call failed, Timeout: 1.0s")
    assert mongo_reason(down)[0] == "refused"


def test_mongodb_current_op_slow_query_and_lock_wait() -> None:
    s = current_op_samples(load("mongodb_currentop_busy.json"))
    # The driver's awaitable hello, idle connections and the exporter itself do not count.
    assert val(s, "lucid_mongodb_current_ops_active") == 2
    assert val(s, "lucid_mongodb_current_ops_waiting_for_lock") == 1
    assert val(s, "lucid_mongodb_current_op_oldest_seconds") == 42.317


def test_mongodb_current_op_recorded_from_secantus_is_idle() -> None:
    s = current_op_samples(load("mongodb_currentop.json"))
    assert val(s, "lucid_mongodb_current_ops_active") == 0


def test_mongodb_db_stats_recorded_from_secantus() -> None:
    s = db_stats_samples("lucid", load("mongodb_dbstats.json"))
    assert val(s, "lucid_mongodb_db_objects", database="lucid") == 1
    assert val(s, "lucid_mongodb_db_collections", database="lucid") == 2
    assert val(s, "lucid_mongodb_db_index_size_bytes", database="lucid") == 27


def test_mongodb_required_index_matched_by_key_pattern_and_uniqueness() -> None:
    indexes = [{"v": 2, "key": {"_id": 1}, "name": "_id_"},
               {"v": 2, "key": {"user_id": 1, "created_at": 1}, "name": "custom"},
               {"v": 2, "key": {"email": 1.0}, "name": "email_1"}]
    assert index_present(RequiredIndex(collection="sessions", keys={"user_id": 1, "created_at": 1}), indexes)
    assert not index_present(RequiredIndex(collection="sessions", keys={"created_at": 1, "user_id": 1}), indexes)
    assert index_present(RequiredIndex(collection="users", keys={"email": 1}), indexes)
    assert not index_present(RequiredIndex(collection="users", keys={"email": 1}, unique=True), indexes)


def test_a_refused_login_is_mongodb_up_and_not_authenticated() -> None:
    """MongoDB answered and refused the login (reason auth): LucidMongoDBAuthenticationFailing pages,
    not LucidMongoDBDown ("MongoDB cannot be reached"); any other failure is MongoDB down."""
    probe = MongoProbe(_Client(MongoDBConfig(), "127.0.0.1", 27017))
    refused = probe.failure_samples("auth")
    assert val(refused, "lucid_mongodb_up") == 1
    assert val(refused, "lucid_mongodb_authenticated") == 0
    assert val(refused, "lucid_service_up", service="mongodb") == 1
    down = probe.failure_samples("refused")
    assert val(down, "lucid_mongodb_up") == 0 and val(down, "lucid_mongodb_authenticated") is None
    assert val(down, "lucid_service_up", service="mongodb") == 0
