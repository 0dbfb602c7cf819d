"""Configuration: validated once, clear errors, secrets from files, env over file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from lucid_exporter import catalogue, inventory, redact
from lucid_exporter.config import ConfigError, Section, dump_redacted, load


def test_defaults_cover_every_service_of_the_catalogue() -> None:
    services = inventory.build(load())
    assert set(services) == set(catalogue.services())
    with_services = {s.cluster for s in catalogue.services().values()}
    assert {s.cluster for s in services.values()} == with_services <= set(catalogue.lucid_clusters())
    assert services["auth-service"].health_url == "http://lucid-auth-service:8089/health"
    # The guide's colliding ports are told apart by container name.
    assert services["admin-interface"].url != services["session-pipeline"].url


def test_invalid_config_names_each_field(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text("web:\n  listen_address: nowhere\nprobes:\n  timeout_seconds: -1\n  typo: 1\n")
    with pytest.raises(ConfigError) as e:
        load(cfg)
    text = "\n".join(e.value.problems)
    assert "web.listen_address" in text and "probes.timeout_seconds" in text and "probes.typo: unknown key" in text


def test_yaml_syntax_error_gives_a_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text("web:\n  listen_address: [\n")
    with pytest.raises(ConfigError) as e:
        load(cfg)
    assert "line" in e.value.problems[0]


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text("probes:\n  timeout_seconds: 3\n")
    monkeypatch.setenv("LUCID_EXPORTER_PROBES__TIMEOUT_SECONDS", "7")
    assert load(cfg).probes.timeout_seconds == 7


class _WithSecret(Section):
    password: SecretStr | None = None


def test_secret_file_is_read_and_redacted(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t-from-file\n")
    section = _WithSecret.model_validate({"password_file": str(secret)})
    assert section.password is not None and section.password.get_secret_value() == "s3cr3t-from-file"
    assert redact.redact("login with s3cr3t-from-file failed") == "login with <secret> failed"


def test_missing_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="password_file: cannot read secret file"):
        _WithSecret.model_validate({"password_file": str(tmp_path / "nope")})


def test_service_override_and_new_service() -> None:
    settings = load(None, {"services": {
        "auth-service": {"url": "http://10.0.0.5:9999"},
        "rate-limiter": {"enabled": False},
        "custom": {"cluster": "gateway", "url": "http://lucid-custom:8000", "health_path": "/healthz"},
    }})
    services = inventory.build(settings)
    assert services["auth-service"].health_url == "http://10.0.0.5:9999/health"
    assert "rate-limiter" not in services
    assert services["custom"].health_url == "http://lucid-custom:8000/healthz"


def test_new_service_without_cluster_is_rejected() -> None:
    with pytest.raises(inventory.CatalogueError, match="needs a cluster"):
        inventory.build(load(None, {"services": {"custom": {"url": "http://x:1"}}}))


def test_basic_auth_requires_bcrypt_hashes() -> None:
    with pytest.raises(ConfigError, match="bcrypt"):
        load(None, {"web": {"basic_auth_users": {"admin": "plain"}}})


def test_dump_shows_secrets_masked() -> None:
    text = dump_redacted(load(None, {"web": {"basic_auth_users": {"admin": "$2b$12$" + "a" * 53}}}))
    assert "<secret>" in text and "$2b$" not in text


def test_a_url_password_is_typed_not_searched_for() -> None:
    # A password with / and @ (percent-encoded, as RFC 3986 wants it) is split off at load:
    # the URL the probes use holds no credentials, and every rendering shows <secret>.
    settings = load(None, {"elasticsearch": {"url": "http://elastic:pa%2Fss%40word-9@es.internal:9200"}})
    url = settings.elasticsearch.url
    assert url is not None and url.public == "http://es.internal:9200"
    assert url.credentials is not None and url.credentials.password.get_secret_value() == "pa/ss@word-9"
    assert str(url) == "http://elastic:<secret>@es.internal:9200"
    assert "pa/ss@word-9" not in dump_redacted(settings) and "pa%2Fss" not in dump_redacted(settings)
    # Free text is searched only for registered values, never for URL-shaped patterns.
    assert redact.redact("mongodb://lucid:hunter22@db:27017") == "mongodb://lucid:hunter22@db:27017"
