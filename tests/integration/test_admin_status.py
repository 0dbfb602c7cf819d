"""Admin interface (guide: Admin Dashboard Not Loading, RBAC Permission Errors) against the sim."""

from __future__ import annotations

from ..servers_status import Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import value


def test_admin_dashboard_reads_permissions_with_the_monitoring_token(stack: Stack) -> None:
    series = stack.probe("admin-interface")
    assert value(series, "lucid_probe_success", target="admin-interface/admin_permissions") == 1
    assert (value(series, "lucid_admin_permissions") or 0) > 0
    assert value(series, "lucid_admin_rbac_ok") == 1
    assert value(series, "lucid_admin_rbac_roles") == 4


def test_rbac_permission_errors_role_missing_shows_no_roles_and_rbac_not_ok(stack: Stack) -> None:
    stack.sim.fault("admin-interface", "rbac_roles_missing")
    series = stack.probe("admin-interface")
    assert value(series, "lucid_admin_rbac_roles") == 0
    assert value(series, "lucid_admin_role_assignments") == 0
    assert value(series, "lucid_admin_rbac_ok") == 0


def test_admin_dashboard_not_loading_shows_failed_checks_with_reason(stack: Stack) -> None:
    stack.sim.fault("admin-interface", "error")
    series = stack.probe("admin-interface")
    assert value(series, "lucid_probe_success", target="admin-interface/admin_users_roles") == 0
    assert (value(series, "lucid_probe_errors_total", target="admin-interface/admin_users_roles",
                  reason="http_status") or 0) >= 1
    assert value(series, "lucid_admin_rbac_ok") == 0
