"""LUCID_EXPORTER_* variables: how the environment reaches the configuration (and wins over the file)."""

from __future__ import annotations

import pytest

from lucid_exporter.config import ConfigError, environment, load


def test_a_nested_variable_sets_one_key_and_names_are_case_insensitive() -> None:
    env = {"LUCID_EXPORTER_REDIS__PASSWORD": "from-env-123", "lucid_exporter_probes__timeout_seconds": "7",
           "PATH": "/usr/bin", "LUCID_EXPORTER_NOT_A_SECTION": "ignored"}
    assert environment(env) == {"redis": {"password": "from-env-123"}, "probes": {"timeout_seconds": "7"}}


def test_a_section_list_or_mapping_is_json_and_nested_variables_win_over_its_keys() -> None:
    env = {"LUCID_EXPORTER_WEB": '{"listen_address": "127.0.0.1:1", "max_requests_in_flight": 3}',
           "LUCID_EXPORTER_WEB__LISTEN_ADDRESS": "127.0.0.1:2",
           "LUCID_EXPORTER_DOCKER__NETWORKS": '["a", "b"]',
           "LUCID_EXPORTER_SERVICES__AUTH-SERVICE__URL": "http://auth:8089"}
    assert environment(env) == {
        "web": {"listen_address": "127.0.0.1:2", "max_requests_in_flight": 3},
        "docker": {"networks": ["a", "b"]},
        "services": {"auth-service": {"url": "http://auth:8089"}},
    }


def test_json_that_does_not_parse_is_named_never_quoted() -> None:
    with pytest.raises(ConfigError) as e:
        environment({"LUCID_EXPORTER_DOCKER__NETWORKS": "[secret-ish"})
    assert e.value.problems == ["docker.networks (environment LUCID_EXPORTER_DOCKER__NETWORKS): not valid JSON"]
    assert "secret-ish" not in str(e.value)


def test_the_environment_wins_over_the_file_and_an_unknown_key_in_a_section_is_an_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUCID_EXPORTER_PROBES__TIMEOUT_SECONDS", "7")
    assert load(None, {"probes": {"timeout_seconds": 3, "min_interval_seconds": 4}}).probes.timeout_seconds == 7
    monkeypatch.setenv("LUCID_EXPORTER_REDIS__PASWORD", "typo-in-the-name")
    with pytest.raises(ConfigError) as e:
        load(None)
    assert any(p.startswith("redis.pasword: unknown key") for p in e.value.problems)
