"""The sim's control port under each personality: faults and the clock, with one clear error line for
bad requests."""

from __future__ import annotations

import json

import pytest

from ..conftest import Sim
from ..support import http_get, http_send

pytestmark = pytest.mark.integration


def test_the_clock_reports_the_seconds_advanced(sim_any: Sim) -> None:
    status, body = http_get(f"{sim_any.control}/clock")
    assert status == 200, body
    before = json.loads(body)["advanced_seconds"]
    status, body = http_send(f"{sim_any.control}/clock/advance?seconds=2.5", "POST")
    assert status == 200, body
    clock = json.loads(body)
    assert clock["advanced_seconds"] == before + 2.5
    assert {"now", "now_seconds"} <= set(clock)


@pytest.mark.parametrize("query", ["", "?seconds=soon", "?seconds=-5", "?seconds=nan"])
def test_a_bad_advance_is_refused_in_one_line_and_moves_nothing(sim_any: Sim, query: str) -> None:
    before = json.loads(http_get(f"{sim_any.control}/clock")[1])["advanced_seconds"]
    status, body = http_send(f"{sim_any.control}/clock/advance{query}", "POST")
    assert status == 400
    error = json.loads(body)["error"]
    assert error and "\n" not in error
    assert json.loads(http_get(f"{sim_any.control}/clock")[1])["advanced_seconds"] == before


def test_an_unknown_fault_kind_is_refused_in_one_line(sim_any: Sim) -> None:
    status, body = http_send(f"{sim_any.control}/faults/auth-service/meltdown", "PUT")
    assert status == 400
    assert "unknown fault kind 'meltdown'" in json.loads(body)["error"]
