"""MongoDB: the guide's "MongoDB Connection Failures" and "MongoDB Performance Issues",
against SecantusDB (MongoDB wire protocol), with and without --auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import Exporter, start_exporter
from ..servers_foundation import SecantusServer
from ..support import Series, scrape, value, wait_until

pytestmark = pytest.mark.integration

USER, PASSWORD = "lucid", "m0ngo-s3cret"


def exporter_config(srv: SecantusServer, **mongodb: object) -> dict:  # type: ignore[type-arg]
    return {
        "probes": {"min_interval_seconds": 0, "timeout_seconds": 3},
        "services": {"mongodb": {"url": f"tcp://127.0.0.1:{srv.port}"}},
        # db.stats() and the index checks refreshed on every scrape here (in the background: a
        # change shows from the scrape after the next one).
        "mongodb": {"connect_timeout_seconds": 1, "stats_interval_seconds": 0, **mongodb},
        "redis": {"enabled": False},
        "elasticsearch": {"enabled": False},
    }


def probe(exp: Exporter) -> Series:
    return scrape(f"{exp.url}/probe?target=mongodb")


@pytest.fixture(scope="module")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusServer]:
    srv = SecantusServer(tmp_path_factory.mktemp("secantus"))
    srv.start()
    c = srv.client()
    c.lucid.users.create_index("email", unique=True)  # the guide's users.email; sessions index missing
    c.lucid.users.insert_many([{"email": f"u{i}@lucid.test"} for i in range(5)])
    c.lucid.sessions.insert_one({"user_id": 1, "created_at": 0})
    c.lucid.users.find_one({"email": "u1@lucid.test"})
    c.close()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def exporter(mongo: SecantusServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    exp = start_exporter(tmp_path_factory.mktemp("mongo-exporter"), exporter_config(mongo))
    yield exp
    exp.proc.stop()


def test_mongodb_ping_version_and_unauthenticated_connection(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_mongodb_up") == 1
    assert value(s, "lucid_service_up", service="mongodb") == 1
    assert value(s, "lucid_probe_success", probe="mongodb", target="mongodb") == 1
    assert value(s, "lucid_probe_success", probe="mongodb_dbstats", target="mongodb") == 1
    assert (value(s, "lucid_mongodb_ping_seconds") or 0) > 0  # how fast: benchmarks/
    assert value(s, "lucid_mongodb_info", version="8.2.11") == 1
    # No credentials configured: whether a login worked is not asked (nor paged on).
    assert value(s, "lucid_mongodb_authenticated") is None


def test_mongodb_rs_status_shows_primary_member(exporter: Exporter, mongo: SecantusServer) -> None:
    s = probe(exporter)
    member = f"127.0.0.1:{mongo.port}"
    assert value(s, "lucid_mongodb_replset_initialized") == 1
    assert value(s, "lucid_mongodb_replset_my_state") == 1
    assert value(s, "lucid_mongodb_replset_member_state", member=member) == 1
    assert value(s, "lucid_mongodb_replset_member_health", member=member) == 1
    assert value(s, "lucid_mongodb_replset_member_optime_lag_seconds", member=member) == 0
    assert value(s, "lucid_mongodb_replset_has_primary") == 1


def test_mongodb_server_status_connections_opcounters_memory(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_mongodb_connections_current") >= 1  # type: ignore[operator]
    assert value(s, "lucid_mongodb_connections_created_total") >= 1  # type: ignore[operator]
    assert value(s, "lucid_mongodb_op_counters_total", type="command") > 0  # type: ignore[operator]
    assert value(s, "lucid_mongodb_memory_resident_bytes") > 1024 * 1024  # type: ignore[operator]
    assert value(s, "lucid_mongodb_uptime_seconds") is not None
    assert value(s, "lucid_mongodb_network_requests_total") > 0  # type: ignore[operator]
    assert value(s, "lucid_mongodb_cursors_open") is not None


def test_mongodb_current_op_excludes_the_probe_itself(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_mongodb_current_ops_active") == 0
    assert value(s, "lucid_mongodb_current_ops_waiting_for_lock") == 0
    assert value(s, "lucid_mongodb_current_op_oldest_seconds") == 0


def test_mongodb_db_stats_per_configured_database(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_mongodb_db_objects", database="lucid") == 6
    assert value(s, "lucid_mongodb_db_collections", database="lucid") == 2
    assert value(s, "lucid_mongodb_db_data_size_bytes", database="lucid") > 0  # type: ignore[operator]
    assert value(s, "lucid_mongodb_db_index_size_bytes", database="lucid") is not None
    assert value(s, "lucid_mongodb_db_objects", database="lucid_blocks") == 0


def test_mongodb_missing_sessions_index_shows_zero(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_mongodb_index_present", collection="users", index="email_1") == 1
    assert value(s, "lucid_mongodb_index_present", collection="sessions", index="user_id_1_created_at_1") == 0
    assert value(s, "lucid_mongodb_index_accesses_total", collection="users", index="email_1") is not None


def test_mongodb_index_created_later_is_seen(exporter: Exporter, mongo: SecantusServer) -> None:
    c = mongo.client()
    try:
        c.lucid.sessions.create_index([("user_id", 1), ("created_at", 1)])
        wait_until(lambda: value(probe(exporter), "lucid_mongodb_index_present", collection="sessions",
                                 index="user_id_1_created_at_1") == 1, timeout=10, what="the new index seen")
    finally:  # the module's other tests expect the guide's missing sessions index
        c.lucid.sessions.drop_index("user_id_1_created_at_1")
        c.close()


def test_mongodb_no_new_connection_per_scrape(exporter: Exporter) -> None:
    probe(exporter)
    first = value(probe(exporter), "lucid_mongodb_connections_created_total")
    for _ in range(20):
        s = probe(exporter)
    assert value(s, "lucid_mongodb_connections_created_total") == first


def test_mongodb_stopped_goes_down_with_reason_and_comes_back(tmp_path: Path) -> None:
    # Its own server: a restarted in-memory SecantusDB comes back empty, which the module's other
    # tests must not see.
    (tmp_path / "restarted").mkdir()
    mongo = SecantusServer(tmp_path / "restarted")
    mongo.start()
    exporter = start_exporter(tmp_path, exporter_config(mongo))
    try:
        assert value(probe(exporter), "lucid_mongodb_up") == 1
        mongo.stop()
        s = probe(exporter)
        assert value(s, "lucid_mongodb_up") == 0
        assert value(s, "lucid_service_up", service="mongodb") == 0
        assert (value(s, "lucid_probe_errors_total", probe="mongodb", reason="refused") or 0) >= 1
        mongo.start()
        wait_until(lambda: value(probe(exporter), "lucid_mongodb_up") == 1, timeout=20, what="mongodb up again")
    finally:
        exporter.proc.stop()
        mongo.stop()


# ------------------------------------------------------------------ with --auth


@pytest.fixture(scope="module")
def mongo_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusServer]:
    srv = SecantusServer(tmp_path_factory.mktemp("secantus-auth"), auth=(USER, PASSWORD))
    srv.start()
    yield srv
    srv.stop()


def test_mongodb_auth_login_is_authenticated(mongo_auth: SecantusServer, tmp_path: Path) -> None:
    secret = tmp_path / "mongo-password"
    secret.write_text(PASSWORD + "\n")
    exp = start_exporter(tmp_path, exporter_config(mongo_auth, username=USER, password_file=str(secret)))
    try:
        s = probe(exp)
        assert value(s, "lucid_mongodb_up") == 1
        assert value(s, "lucid_mongodb_authenticated") == 1
        assert value(s, "lucid_probe_success", probe="mongodb_dbstats", target="mongodb") == 1
    finally:
        exp.proc.stop()


@pytest.mark.parametrize("creds", [{"username": USER, "password": "wrong-password-1"}, {}],
                         ids=["wrong-password", "none"])
def test_mongodb_failed_login_is_reason_auth(mongo_auth: SecantusServer, tmp_path: Path,
                                             creds: dict[str, str]) -> None:
    """MongoDB answers and refuses the login: it is up, the exporter is not authenticated (so the page is
    LucidMongoDBAuthenticationFailing, not "MongoDB cannot be reached")."""
    exp = start_exporter(tmp_path, exporter_config(mongo_auth, **creds))
    try:
        s = probe(exp)
        assert value(s, "lucid_mongodb_up") == 1
        assert value(s, "lucid_service_up", service="mongodb") == 1
        assert value(s, "lucid_mongodb_authenticated") == 0
        assert value(s, "lucid_probe_success", probe="mongodb", target="mongodb") == 0
        assert value(s, "lucid_probe_errors_total", probe="mongodb", reason="auth") >= 1  # type: ignore[operator]
        assert "wrong-password-1" not in exp.log()
    finally:
        exp.proc.stop()
