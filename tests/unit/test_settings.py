"""Settings precedence and the one-line errors for bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.errors import ConfigError
from schemas.settings import load_settings, redact_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SPOOLBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_flags_beat_environment_beat_config_file_beat_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "spoolbridge.toml"
    config.write_text('[kafka]\ntopic = "from-file"\npartitions = 7\n[consumer]\ngroup = "file-group"\n')
    monkeypatch.setenv("SPOOLBRIDGE_KAFKA__TOPIC", "from-env")
    monkeypatch.setenv("SPOOLBRIDGE_CONSUMER__GROUP", "env-group")
    settings = load_settings({"kafka": {"topic": "from-flag"}, "consumer": {"group": None}})
    assert settings.kafka.topic == "from-flag"
    assert settings.consumer.group == "env-group"
    assert settings.kafka.partitions == 7
    assert settings.consumer.max_events == 5000


def test_explicit_config_file_is_read(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('[opensearch]\nindex = "games"\n')
    assert load_settings(config_file=config).index_name == "games"


def test_index_defaults_to_topic_and_dlq_to_topic_dot_dlq() -> None:
    settings = load_settings({"kafka": {"topic": "steam"}})
    assert settings.index_name == "steam"
    assert settings.kafka.dead_letter_topic == "steam.dlq"


@pytest.mark.parametrize(
    ("env", "value", "setting"),
    [
        ("SPOOLBRIDGE_CONSUMER__MAX_EVENTS", "many", "consumer.max_events"),
        ("SPOOLBRIDGE_KAFKA__SECURITY_PROTOCOL", "TLS", "kafka.security_protocol"),
        ("SPOOLBRIDGE_OPENSEARCH__URL", "localhost:9200", "opensearch.url"),
        ("SPOOLBRIDGE_PRODUCER__SETTLE_MS", "-1", "producer.settle_ms"),
    ],
)
def test_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, setting: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"setting {setting}: ")
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_unknown_setting_in_config_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "spoolbridge.toml").write_text("[kafka]\ntopik = 'x'\n")
    with pytest.raises(ConfigError, match=r"^setting kafka\.topik: unknown setting$"):
        load_settings()


def test_secret_never_appears_in_errors_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOOLBRIDGE_OPENSEARCH__URL", "https://avnadmin:hunter2@os.example:443")
    monkeypatch.setenv("SPOOLBRIDGE_KAFKA__SASL_PASSWORD", "s3cret")
    settings = load_settings()
    assert "hunter2" not in repr(settings) and "s3cret" not in repr(settings)
    assert settings.opensearch.safe_url == "https://avnadmin:***@os.example:443"
    monkeypatch.setenv("SPOOLBRIDGE_CONSUMER__MAX_EVENTS", "hunter2")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)


def test_client_kwargs_split_the_service_uri() -> None:
    settings = load_settings({"opensearch": {"url": "https://avnadmin:pw@os.example:24947"}})
    kwargs = settings.opensearch.client_kwargs()
    assert kwargs["hosts"] == [{"host": "os.example", "port": 24947, "url_prefix": ""}]
    assert kwargs["http_auth"] == ("avnadmin", "pw")
    assert kwargs["use_ssl"] is True
    assert kwargs["http_compress"] is False  # gzip costs CPU; opensearch.http_compress turns it on


def test_http_compress_reaches_the_client() -> None:
    settings = load_settings({"opensearch": {"url": "https://u:p@os.example:1", "http_compress": True}})
    assert settings.opensearch.client_kwargs()["http_compress"] is True


@pytest.mark.parametrize(
    ("url", "verify", "warned"),
    [
        ("https://avnadmin:s3cret@os.example:24947", False, True),
        ("https://avnadmin:s3cret@os.example:24947", True, False),
        ("http://127.0.0.1:9200", False, False),  # no TLS: nothing to verify
    ],
)
def test_an_unverified_https_node_is_warned_about_without_the_secret(
    url: str, verify: bool, warned: bool
) -> None:
    warning = load_settings({"opensearch": {"url": url, "verify_certs": verify}}).opensearch.unverified_tls
    assert (warning is not None) == warned
    if warning is not None:
        assert "opensearch.verify_certs" in warning and "opensearch.ca_file" in warning
        assert "s3cret" not in warning and "avnadmin" not in warning


def test_kafka_client_config_for_aiven_tls_and_sasl(tmp_path: Path) -> None:
    tls = load_settings(
        {"kafka": {"bootstrap_servers": "k:1", "security_protocol": "SSL", "ssl_cafile": tmp_path / "ca.pem"}}
    ).kafka.client_config()
    assert tls["ssl.ca.location"].endswith("ca.pem")
    sasl = load_settings(
        {"kafka": {"bootstrap_servers": "k:1", "security_protocol": "SASL_SSL", "sasl_username": "u",
                   "sasl_password": "p"}}
    ).kafka.client_config()  # fmt: skip
    assert (sasl["sasl.mechanism"], sasl["sasl.username"], sasl["sasl.password"]) == (
        "SCRAM-SHA-256",
        "u",
        "p",
    )


@pytest.mark.parametrize(
    ("given", "named"),
    [({"sasl_password": "p"}, "kafka.sasl_username"), ({"sasl_username": "u"}, "kafka.sasl_password")],
)
def test_sasl_without_user_or_password_names_the_missing_one(given: dict[str, str], named: str) -> None:
    kafka = load_settings(
        {"kafka": {"bootstrap_servers": "k:1", "security_protocol": "SASL_SSL", **given}}
    ).kafka
    with pytest.raises(ConfigError) as raised:
        kafka.check_files()
    assert raised.value.setting == named


def test_unset_endpoints_are_named_when_needed() -> None:
    with pytest.raises(ConfigError, match=r"kafka\.bootstrap_servers"):
        load_settings().kafka.client_config()
    with pytest.raises(ConfigError, match=r"opensearch\.url"):
        load_settings().opensearch.client_kwargs()


def test_redact_url_leaves_passwordless_urls_alone() -> None:
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


@pytest.mark.parametrize(
    "url", ["http://localhost:92x0", "https://avnadmin:hunter2@os.example:99999", "http://localhost:0"]
)
def test_bad_opensearch_port_is_a_setting_error_without_the_secret(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("SPOOLBRIDGE_OPENSEARCH__URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == "setting opensearch.url: the port must be a number from 1 to 65535"
    assert caught.value.exit_code == 2


def test_upper_case_topic_as_index_name_names_the_settings_and_a_name_that_works() -> None:
    settings = load_settings({"kafka": {"topic": "Orders"}})
    assert settings.kafka.topic == "Orders"  # a valid topic: the producer alone may use it
    with pytest.raises(ConfigError) as caught:
        _ = settings.index_name
    message = str(caught.value)
    assert message.startswith("setting kafka.topic: 'Orders' is also the index name")
    assert "index names must be lower case" in message
    assert "set opensearch.index (e.g. 'orders')" in message
    assert load_settings({"kafka": {"topic": "Orders"}, "opensearch": {"index": "orders"}}).index_name == (
        "orders"
    )


def test_invalid_index_setting_is_refused_with_a_name_that_works() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"opensearch": {"index": "My Games"}})
    assert str(caught.value) == (
        "setting opensearch.index: 'My Games': index names must be lower case (e.g. 'my-games')"
    )


def test_missing_endpoints_say_how_to_start_the_local_stack() -> None:
    settings = load_settings()
    for call, setting in (
        (settings.kafka.client_config, "kafka.bootstrap_servers"),
        (settings.opensearch.client_kwargs, "opensearch.url"),
    ):
        with pytest.raises(ConfigError) as caught:
            call()
        assert caught.value.setting == setting
        assert "no local stack is running: start one with `spoolbridge stack up`" in str(caught.value)


def test_local_stack_state_is_per_user_and_the_same_from_every_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert load_settings().stack.dir == tmp_path / "home" / ".local" / "state" / "spoolbridge" / "stack"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # the XDG spec: relative paths are ignored
    assert load_settings().stack.dir == tmp_path / "home" / ".local" / "state" / "spoolbridge" / "stack"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "elsewhere").mkdir()
    here = load_settings().stack.dir
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_settings().stack.dir == here == tmp_path / "state" / "spoolbridge" / "stack"
    monkeypatch.setenv("SPOOLBRIDGE_STACK__DIR", str(tmp_path / "mine"))
    assert load_settings().stack.dir == tmp_path / "mine"
