"""A malformed configuration is one line naming the field and exit 2, for every command, before
anything runs: these inputs used to pass `config` and then crash `serve` or `check` with a
traceback (issue 13). Anything unexpected later is one line and exit 1, never a traceback
unless --log.level=debug."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lucid_exporter import cli, redact

from ..support import EXPORTER

PEM_LOOKALIKE = "this is not a certificate\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def not_pem(tmp: Path) -> str:
    path = tmp / "not-a-cert.pem"
    path.write_text(PEM_LOOKALIKE)
    return str(path)


# (case id, config YAML (a callable of the temp dir for file paths), field named, secret that must not show)
CASES: list[tuple[str, object, str, str | None]] = [
    ("redis address port not a number", "redis:\n  address: '127.0.0.1:abc'\n", "redis.address", None),
    ("trongrid url broken by a raw / in its password",
     "status:\n  trongrid_url: 'https://tron:se/cret-pass-1@api.trongrid.io'\n", "status.trongrid_url", "cret-pass-1"),
    ("elasticsearch url without scheme", "elasticsearch:\n  url: '127.0.0.1:9200'\n", "elasticsearch.url", None),
    ("trongrid url without scheme", "status:\n  trongrid_url: api.trongrid.io\n", "status.trongrid_url", None),
    ("docker url without scheme", "docker:\n  base_url: /var/run/docker.sock\n", "docker.base_url", None),
    ("service url with a scheme it does not allow", "services:\n  auth-service:\n    url: 'ftp://x:1'\n",
     "services.auth-service.url", None),
    ("redis address port 70000", "redis:\n  address: '127.0.0.1:70000'\n", "redis.address", None),
    ("mongodb address port 70000", "mongodb:\n  address: '127.0.0.1:70000'\n", "mongodb.address", None),
    ("elasticsearch url port 70000", "elasticsearch:\n  url: 'http://127.0.0.1:70000'\n", "elasticsearch.url", None),
    ("tcp target without port", "network:\n  tcp_targets: ['lucid-xrdp']\n", "network.tcp_targets[0]", None),
    ("web TLS certificate that is not PEM",
     lambda t: f"web:\n  tls_cert_file: {not_pem(t)}\n  tls_key_file: {not_pem(t)}\n",
     "web.tls_server_config.cert_file", None),
    ("redis CA file that is not PEM", lambda t: f"redis:\n  tls:\n    enabled: true\n    ca_file: {not_pem(t)}\n",
     "redis.tls.ca_file", None),
    ("duplicate YAML keys", "redis:\n  enabled: false\nprobes: {}\nredis:\n  address: 'h:1'\n",
     "duplicate key 'redis'", None),
    ("boolean as a number", "probes:\n  timeout_seconds: true\n", "probes.timeout_seconds", None),
    ("infinite scrape timeout", "probes:\n  default_scrape_timeout_seconds: .inf\n",
     "probes.default_scrape_timeout_seconds", None),
    ("nan timeout", "redis:\n  connect_timeout_seconds: .nan\n", "redis.connect_timeout_seconds", None),
    ("check method DELETE", "checks:\n  wipe:\n    service: auth-service\n    path: /x\n    method: DELETE\n",
     "checks.wipe.method", None),
    ("secret shorter than 8 characters", "redis:\n  password: 'abc'\n", "redis.password", None),
    ("header value with a line break",
     "checks:\n  x:\n    service: auth-service\n    path: /x\n    headers: {X-Api-Key: \"key-1234\\nX-Evil: 1\"}\n",
     "checks.x.headers", "key-1234"),
    ("mongodb uri with a raw / in its password", "mongodb:\n  uri: 'mongodb://lucid:pa/ss-word-1@db:27017'\n",
     "mongodb.uri", "ss-word-1"),
    ("credentials in a tcp service url", "services:\n  redis:\n    url: 'tcp://u:hunter2-pass@h:6379'\n",
     "services.redis.url", "hunter2-pass"),
    ("check naming an unknown service", "checks:\n  consensus_status:\n    service: blockchain-engin\n",
     "checks.consensus_status.service: unknown service 'blockchain-engin'", None),
    ("unknown API profile", "status:\n  profile: real\n", "status.profile", None),
    ("blockchain API key with a line break", "status:\n  blockchain_api_key: \"bc-key-1234\\nX: 1\"\n",
     "status.blockchain_api_key", "bc-key-1234"),
    ("remap of a check the lucid profile has no endpoint for, without a path",
     "status:\n  profile: lucid\nchecks:\n  poot_scores:\n    fields: {lucid_poot_score: score}\n",
     "checks.poot_scores: the profile has no endpoint for it", None),
    ("web config file that is not YAML", lambda t: _web_file(t, "tls_server_config: [\n"), "web.config_file", None),
    ("basic auth user with a plain password", lambda t: _web_file(t, "basic_auth_users:\n  ops: plain-password-1\n"),
     "web.basic_auth_users.ops", "plain-password-1"),
]


def _web_file(tmp: Path, text: str) -> str:
    path = tmp / "web.yml"
    path.write_text(text)
    return f"web:\n  config_file: {path}\n"


@pytest.mark.parametrize("command", ["config", "check", "serve", "doctor"])
@pytest.mark.parametrize(("text", "field", "secret"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_input_is_one_line_naming_the_field_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: object, field: str,
        secret: str | None) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text(text(tmp_path) if callable(text) else str(text))
    code, out, err = run(capsys, command, "--config", str(cfg))
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert field in lines[0] and lines[0].startswith("lucid-exporter: config error: ")
    assert "Traceback" not in err and out == ""
    if secret is not None:
        assert secret not in err


def test_non_utf8_config_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_bytes(b"probes:\n  timeout_seconds: 3\nredis:\n  address: \xff\xfe:6379\n")
    code, _, err = run(capsys, "serve", "--config", str(cfg))
    assert code == 2 and err.strip().splitlines() == [f"lucid-exporter: config error: {cfg}: line 4: not UTF-8 text"]


def test_bad_json_in_a_section_variable_is_one_line(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUCID_EXPORTER_WEB", '{"basic_auth_users": {"ops": "secret-in-env-1"')
    code, _, err = run(capsys, "check")
    assert code == 2
    assert err.strip().splitlines() == [
        "lucid-exporter: config error: web (environment LUCID_EXPORTER_WEB): not valid JSON"]


def test_the_real_process_prints_one_line_too(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_bytes(b"redis:\n  address: \xff\n")
    r = subprocess.run([*EXPORTER, "check", "--config", str(cfg)], capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "LUCID_EXPORTER_WEB": "{not json"})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_an_unexpected_error_is_one_line_without_its_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "planted-secret-value-42"
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"redis:\n  password: {secret}\nstatus:\n  enabled: false\n")

    def explode(*_: object) -> object:
        raise RuntimeError(f"library said: cannot log in with {secret}\nsecond line")

    monkeypatch.setattr(cli, "_one_round", explode)
    try:
        code, out, err = run(capsys, "check", "--config", str(cfg))
        assert code == 1 and out == ""
        assert err.strip().splitlines() == [
            "lucid-exporter: error: RuntimeError: library said: cannot log in with <secret> second line "
            "(--log.level=debug shows the traceback)"]
        code, _, err = run(capsys, "doctor", "--config", str(cfg), "--log.level", "debug")
        assert code == 1 and "Traceback" in err and secret not in err
    finally:
        redact.clear()
