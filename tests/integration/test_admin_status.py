"""Admin interface (guide: Admin Dashboard Not Loading, RBAC Permission Errors) against the sim, under
both personalities (the real admin API has no permissions or roles route: its dashboard overview, behind
the admin session token, is what tells that the monitoring admin is let in)."""

from __future__ import annotations

from ..servers_status import Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import value

# The check that reads the admin API with the monitoring token, per API profile.
READ_CHECK = {"guide": "admin_users_roles", "lucid": "admin_permissions_matrix"}


def test_admin_dashboard_reads_permissions_with_the_monitoring_token(stack: Stack) -> None:
    series = stack.probe("admin-interface")
    assert value(series, "lucid_admin_rbac_ok") == 1
    if not stack.lucid:
        assert value(series, "lucid_probe_success", target="admin-interface/admin_permissions") == 1
        assert (value(series, "lucid_admin_permissions") or 0) > 0
        assert value(series, "lucid_admin_rbac_roles") == 4
        return
    assert value(series, "lucid_probe_success", target="admin-interface/admin_permissions_matrix") == 1
    # No permissions or roles route in the real admin API: neither is asked for, the roles alert is blind.
    assert stack.blind("admin_permissions", "lucid_admin_permissions") == set()
    assert stack.blind("admin_users_roles", "lucid_admin_rbac_roles") == {"LucidAdminRBACNoRoles"}


def test_rbac_permission_errors_role_missing_shows_no_roles_and_rbac_not_ok(stack: Stack) -> None:
    stack.sim.fault("admin-interface", "rbac_roles_missing")
    series = stack.probe("admin-interface")
    assert value(series, "lucid_admin_rbac_ok") == 0
    if not stack.lucid:
        assert value(series, "lucid_admin_rbac_roles") == 0
        assert value(series, "lucid_admin_role_assignments") == 0
        return
    # The real admin answers 403 "Permission denied: dashboard:view": that answer is the reading (the
    # check itself works), and the roles themselves are not listed anywhere.
    assert value(series, "lucid_probe_success", target="admin-interface/admin_permissions_matrix") == 1
    assert stack.blind("admin_roles_assignments", "lucid_admin_role_assignments") == set()


def test_admin_dashboard_not_loading_shows_failed_checks_with_reason(stack: Stack) -> None:
    stack.sim.fault("admin-interface", "error")
    series = stack.probe("admin-interface")
    check = READ_CHECK[stack.profile]
    assert value(series, "lucid_probe_success", target=f"admin-interface/{check}") == 0
    assert (value(series, "lucid_probe_errors_total", target=f"admin-interface/{check}",
                  reason="http_status") or 0) >= 1
    assert value(series, "lucid_admin_rbac_ok") == 0
