"""TRON payment cluster (guide: TRON Network Connection Failures, Wallet Management Failures,
USDT Transaction Failures) against the sim, including its TronGrid stand-in, under both personalities.
The real TRON client answers HTTP 500 rather than "disconnected"; the real wallets are active, inactive,
locked or archived (no "error"); the real USDT manager answers a constant balance of 1000.0 per address
and an empty transactions list, so USDT failures and low balances cannot show."""

from __future__ import annotations

import time

from ..servers_status import Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import value


def test_healthy_tron_client_follows_trongrid(stack: Stack) -> None:
    series = stack.probe("tron-client")
    assert value(series, "lucid_tron_network_connected") == 1
    assert value(series, "lucid_probe_success", target="tron-client/trongrid_nowblock") == 1
    ts = value(series, "lucid_tron_latest_block_timestamp_seconds")
    grid = value(series, "lucid_trongrid_latest_block_timestamp_seconds")
    assert ts is not None and grid is not None and abs(grid - ts) < 4 and time.time() - grid < 10


def test_tron_network_connection_failures_show_disconnected_and_falling_behind_trongrid(stack: Stack) -> None:
    stack.sim.fault("tron-client", "tron_unreachable")
    stack.probe("tron-client")
    stack.sim.advance(3.5)
    series = stack.probe("tron-client")
    assert value(series, "lucid_tron_endpoints_reachable") == 0
    if stack.lucid:
        # No "connected: false" in the real client: its network status fails (LucidProbeFailing), as the
        # profile's note on LucidTronNetworkDisconnected says; TronGrid itself still answers.
        assert "LucidTronNetworkDisconnected" in stack.check("tron_network_status").alerts
        assert value(series, "lucid_probe_success", target="tron-client/tron_network_status") == 0
        assert (value(series, "lucid_probe_errors_total", target="tron-client/tron_network_status",
                      reason="http_status") or 0) >= 1
        assert value(series, "lucid_tron_network_connected") is None
        assert value(series, "lucid_probe_success", target="tron-client/trongrid_nowblock") == 1
        return
    assert value(series, "lucid_tron_network_connected") == 0
    behind = (value(series, "lucid_trongrid_latest_block") or 0) - (value(series, "lucid_tron_latest_block") or 0)
    assert behind >= 1


def test_after_the_tron_client_reconnects_it_follows_trongrid_again(stack: Stack) -> None:
    # LucidTronBlockStale resolves: reconnected, the client reports the network's latest block.
    stack.sim.fault("tron-client", "tron_unreachable")
    stack.sim.advance(60)
    stack.sim.clear("tron-client")
    reconnected_at = time.time()
    series = stack.probe("tron-client")
    assert value(series, "lucid_tron_network_connected") == 1
    ts = value(series, "lucid_tron_latest_block_timestamp_seconds")
    assert ts is not None and ts >= reconnected_at - 3  # TRON's block time
    behind = (value(series, "lucid_trongrid_latest_block") or 0) - (value(series, "lucid_tron_latest_block") or 0)
    assert behind <= 1  # the two answers may straddle a TRON block


def test_wallet_management_failures_wallet_access_errors_show_wallets_in_error(stack: Stack) -> None:
    status = "locked" if stack.lucid else "error"  # the real wallet statuses have no "error"
    assert value(stack.probe("wallet-manager"), "lucid_tron_wallets", status=status) == 0
    stack.sim.fault("wallet-manager", "wallet_access_error")
    assert (value(stack.probe("wallet-manager"), "lucid_tron_wallets", status=status) or 0) > 0


def test_usdt_transaction_failures_transfers_failing_show_failed_transactions(stack: Stack) -> None:
    if stack.lucid:
        reason = stack.refused("usdt-manager", "usdt_failing")
        assert reason.startswith("not expressible: the real USDT transactions list is always empty")
        assert stack.blind("usdt_transactions_status", "lucid_usdt_transactions") == {"LucidUSDTTransactionsFailing"}
        return
    assert value(stack.probe("usdt-manager"), "lucid_usdt_transactions", status="failed") == 0
    stack.sim.fault("usdt-manager", "usdt_failing")
    stack.probe("usdt-manager")
    stack.sim.advance(1.0)
    assert (value(stack.probe("usdt-manager"), "lucid_usdt_transactions", status="failed") or 0) >= 2


def test_usdt_transaction_failures_balance_issues_show_low_balance_for_configured_wallets(stack: Stack) -> None:
    wallets = stack.sim.config["status"]["wallets"]
    series = stack.probe("usdt-manager")
    balances = {lbl: v for (n, lbl), v in series.items() if n == "lucid_usdt_balance"}
    assert {dict(lbl)["wallet"] for lbl in balances} == set(wallets)  # configured wallets only
    assert all(v >= 1000 for v in balances.values())
    if stack.lucid:
        # Read one wallet at a time (GET /usdt/balance/{address}), each the real code's constant.
        assert set(balances.values()) == {1000.0}
        reason = stack.refused("usdt-manager", "wallet_balance_low")
        assert reason.startswith("not expressible: the real USDT balance is a constant 1000.0")
        return
    stack.sim.fault("usdt-manager", "wallet_balance_low")
    series = stack.probe("usdt-manager")
    for w in wallets:
        assert (value(series, "lucid_usdt_balance", wallet=w) or 99) < 10
