"""Settings from defaults, properties files, environment variables and flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge import cli
from bridge.config import (
    SETTINGS_TABLE,
    ConfigError,
    build_arg_parser,
    env_name,
    load_settings,
    render_markdown,
)
from bridge.embedded_broker import settings_for_embedded_broker
from bridge.properties import PropertiesSyntaxError, parse_properties
from bridge.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def load(*argv: str, **environ: str) -> Settings:
    return load_settings(list(argv), environ)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bridge.properties"
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- defaults and precedence


def test_defaults_are_the_settings_defaults() -> None:
    assert load() == Settings()


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    path = write(tmp_path, "http.port=1001\nhttp.host=file-host\nlog.level=DEBUG\n")
    settings = load(
        "--config-file",
        path,
        "--port",
        "1003",
        KAFKA_BRIDGE_HTTP_PORT="1002",
        KAFKA_BRIDGE_HTTP_HOST="env-host",
    )
    assert (settings.port, settings.host, settings.log_level) == (1003, "env-host", "DEBUG")


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "http.port=1234\n")
    assert load(KAFKA_BRIDGE_CONFIG_FILE=path).port == 1234


def test_config_file_flag_beats_environment(tmp_path: Path) -> None:
    flag = write(tmp_path, "http.port=1\n")
    other = tmp_path / "other.properties"
    other.write_text("http.port=2\n")
    assert load("--config-file", flag, KAFKA_BRIDGE_CONFIG_FILE=str(other)).port == 1


def test_last_flag_wins_between_set_and_dedicated_flags() -> None:
    assert load("--port", "1", "-D", "http.port=2").port == 2
    assert load("--set", "http.port=2", "--port", "1").port == 1


def test_empty_value_unsets_an_optional_url(tmp_path: Path) -> None:
    path = write(tmp_path, "schema.registry.url=http://registry:8081\n")
    settings = load("--config-file", path, "--schema-registry-url", "")
    assert settings.schema_registry_url is None
    assert "schema.registry.url" not in settings.properties


# --- type conversions and bad values


@pytest.mark.parametrize(
    ("argv", "field", "expected"),
    [
        (["--bootstrap-servers", " a:9092 , b:9093 "], "bootstrap_servers", "a:9092,b:9093"),
        (["--host", "127.0.0.1"], "host", "127.0.0.1"),
        (["--port", "65535"], "port", 65535),
        (["--port", "1"], "port", 1),
        (["--advertised-url", "https://bridge.example/kafka/"], "advertised_url",
         "https://bridge.example/kafka"),
        (["--schema-registry-url", "http://registry:8081"], "schema_registry_url",
         "http://registry:8081"),
        (["-D", "produce.auto.create.topics=TRUE"], "produce_auto_create_topics", True),
        (["-D", "produce.auto.create.topics=False"], "produce_auto_create_topics", False),
        (["-D", "produce.timeout.ms=1"], "produce_timeout_ms", 1),
        (["-D", "metadata.max.age.ms=5000"], "metadata_max_age_ms", 5000),
        (["-D", "consumer.instance.timeout.ms=60000"], "consumer_instance_timeout_ms", 60000),
        (["--log-level", "debug"], "log_level", "DEBUG"),
        (["--log-level", "warn"], "log_level", "WARNING"),
        (["--log-level", "ERROR"], "log_level", "ERROR"),
    ],
)  # fmt: skip
def test_conversions(argv: list[str], field: str, expected: object) -> None:
    assert getattr(load(*argv), field) == expected


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("http.port", "0", "between 1 and 65535"),
        ("http.port", "65536", "between 1 and 65535"),
        ("http.port", "80a", "expected an integer"),
        ("http.port", "1_000", "expected an integer"),
        ("http.host", "", "host name"),
        ("bootstrap.servers", "", "must not be empty"),
        ("bootstrap.servers", "a:1,,b:2", "host:port"),
        ("http.advertised.url", "bridge.example", "absolute http"),
        ("http.advertised.url", "ftp://bridge.example", "absolute http"),
        ("http.advertised.url", "http://bridge.example/?a=1", "query"),
        ("schema.registry.url", "registry:8081", "absolute http"),
        ("produce.auto.create.topics", "yes", "true or false"),
        ("produce.timeout.ms", "0", ">= 1"),
        ("metadata.max.age.ms", "-5", ">= 1"),
        ("consumer.instance.timeout.ms", "1.5", "expected an integer"),
        ("log.level", "TRACE", "DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_bad_values_name_key_and_source(key: str, value: str, why: str) -> None:
    with pytest.raises(ConfigError) as flag_error:
        load("-D", f"{key}={value}")
    message = str(flag_error.value)
    assert key in message
    assert "command line -D" in message
    assert why in message

    with pytest.raises(ConfigError, match=re.escape(f"environment variable {env_name(key)}")):
        load(**{env_name(key): value})


def test_bad_value_in_file_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "# comment\n\nhttp.port = high\n")
    with pytest.raises(ConfigError, match=re.escape(f"config file {path} line 3: http.port=")):
        load("--config-file", path)


# --- unknown keys


def test_unknown_key_on_command_line_suggests_a_close_one() -> None:
    with pytest.raises(ConfigError, match=r"command line --set: unknown setting 'http\.prot'.*"
                       r"did you mean 'http\.port'"):  # fmt: skip
        load("--set", "http.prot=1")


def test_unknown_key_in_environment() -> None:
    with pytest.raises(ConfigError, match="environment variable KAFKA_BRIDGE_NOPE"):
        load(KAFKA_BRIDGE_NOPE="1")


def test_unknown_key_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "http.port=1\nlisteners=http://0.0.0.0:8080\n")
    with pytest.raises(ConfigError, match=r"line 2: unknown setting 'listeners'"):
        load("--config-file", path)


def test_other_environment_variables_are_ignored() -> None:
    assert load(KAFKA_BOOTSTRAP_SERVERS="x:1", PORT="1") == Settings()


@pytest.mark.parametrize(
    "key", ["kafka.", "kafka.producer", "kafka.producer.", "codec.", "kafka.a."]
)
def test_passthrough_key_without_a_property(key: str) -> None:
    with pytest.raises(ConfigError, match="names no property"):
        load("-D", f"{key}=1")


def test_bad_command_line_is_a_config_error_not_an_exit() -> None:
    with pytest.raises(ConfigError, match="unrecognized arguments: --nope"):
        load("--nope")
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load("-D", "http.port")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load("--config-file", str(tmp_path / "absent.properties"))


# --- passthrough routing and environment names


def test_passthrough_routing() -> None:
    settings = load(
        "-D", "kafka.producer.linger.ms=5",
        "-D", "kafka.consumer.fetch.max.wait.ms=100",
        "-D", "kafka.admin.request.timeout.ms=3000",
        "-D", "kafka.security.protocol=SASL_SSL",
        "-D", "kafka.sasl.jaas.config=a=b; c",
        "-D", "codec.avro.cache.size=10",
    )  # fmt: skip
    assert settings.kafka_producer == {"linger.ms": "5"}
    assert settings.kafka_consumer == {"fetch.max.wait.ms": "100"}
    assert settings.kafka_admin == {"request.timeout.ms": "3000"}
    assert settings.kafka_common == {"security.protocol": "SASL_SSL", "sasl.jaas.config": "a=b; c"}
    assert settings.properties["codec.avro.cache.size"] == "10"
    assert settings.properties["kafka.producer.linger.ms"] == "5"


def test_environment_names() -> None:
    settings = load(
        KAFKA_BRIDGE_KAFKA_PRODUCER_LINGER_MS="7",
        KAFKA_BRIDGE_KAFKA_SSL_CAFILE="/ca.pem",
        KAFKA_BRIDGE_CODEC_AVRO_CACHE_SIZE="3",
        KAFKA_BRIDGE_PRODUCE_AUTO_CREATE_TOPICS="true",
        KAFKA_BRIDGE_BOOTSTRAP_SERVERS="k:9092",
    )
    assert settings.kafka_producer == {"linger.ms": "7"}
    assert settings.kafka_common == {"ssl.cafile": "/ca.pem"}
    assert settings.properties["codec.avro.cache.size"] == "3"
    assert settings.produce_auto_create_topics is True
    assert settings.bootstrap_servers == "k:9092"


def test_env_name_of_every_table_row() -> None:
    assert env_name("kafka.producer.linger.ms") == "KAFKA_BRIDGE_KAFKA_PRODUCER_LINGER_MS"
    for spec in SETTINGS_TABLE:
        assert spec.env == "KAFKA_BRIDGE_" + spec.key.upper().replace(".", "_")
        # A value no setting accepts proves the variable reaches this row's parser.
        with pytest.raises(ConfigError, match=re.escape(f"{spec.env}: {spec.key}=")):
            load(**{spec.env: "not valid!"})


def test_properties_holds_everything_set(tmp_path: Path) -> None:
    path = write(tmp_path, "http.port=9000\n")
    settings = load("--config-file", path, "-D", "kafka.acks=all", KAFKA_BRIDGE_LOG_LEVEL="info")
    assert dict(settings.properties) == {
        "http.port": "9000",
        "kafka.acks": "all",
        "log.level": "info",
    }


def test_settings_mappings_are_read_only() -> None:
    settings = load("-D", "kafka.producer.linger.ms=5")
    with pytest.raises(TypeError):
        settings.kafka_producer["linger.ms"] = "6"  # type: ignore[index]


# --- properties file syntax


def test_properties_syntax() -> None:
    text = "\n".join(
        [
            "# hash comment",
            "! bang comment",
            "   ",
            "a=1",
            "b: 2",
            "  c =  spaced value  ",
            "d=x=y:z",
            "e: http://host:8081",
            "f=",
            r"g\:h=escaped separator",
            "long=first \\",
            "   second",
            r"tab=a\tb",
            r"uni=\u00e9",
            r"backslash=C:\\dir",
            r"trail=dir\\",
            "next=not a continuation",
        ]
    )
    entries = {key: value for key, value, _ in parse_properties(text, "t")}
    assert entries == {
        "a": "1",
        "b": "2",
        "c": "spaced value",
        "d": "x=y:z",
        "e": "http://host:8081",
        "f": "",
        "g:h": "escaped separator",
        "long": "first second",
        "tab": "a\tb",
        "uni": "é",
        "backslash": "C:\\dir",
        "trail": "dir\\",
        "next": "not a continuation",
    }


def test_properties_line_numbers_and_missing_separator() -> None:
    entries = parse_properties("# c\n\nk=v\n", "file x")
    assert entries == [("k", "v", "file x line 3")]
    with pytest.raises(PropertiesSyntaxError, match="file x line 2: expected 'key=value'"):
        parse_properties("a=1\njust-a-key\n", "file x")
    with pytest.raises(PropertiesSyntaxError, match="missing key"):
        parse_properties("=value\n", "file x")


def test_later_file_lines_win(tmp_path: Path) -> None:
    path = write(tmp_path, "http.port=1\nhttp.port=2\n")
    assert load("--config-file", path).port == 2


# --- embedded broker settings


def test_embedded_settings_turn_idempotence_off() -> None:
    settings = settings_for_embedded_broker(load("-D", "kafka.producer.linger.ms=5"), "h:1")
    assert settings.bootstrap_servers == "h:1"
    assert settings.kafka_producer == {"linger.ms": "5", "enable.idempotence": "false"}
    assert settings.properties["kafka.producer.enable.idempotence"] == "false"
    assert settings.properties["bootstrap.servers"] == "h:1"


@pytest.mark.parametrize("key", ["kafka.producer.enable.idempotence", "kafka.enable.idempotence"])
def test_embedded_settings_keep_an_explicit_idempotence(key: str) -> None:
    settings = settings_for_embedded_broker(load("-D", f"{key}=true"), "h:1")
    assert settings.kafka_producer.get("enable.idempotence") in (None, "true")
    assert settings.properties[key] == "true"
    assert "false" not in settings.properties.values()


# --- CLI and docs


def test_cli_reports_config_errors_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--port", "nope"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err
    assert "http.port" in err
    assert "Traceback" not in err


def test_every_flag_is_in_help() -> None:
    text = build_arg_parser().format_help()
    for spec in SETTINGS_TABLE:
        if spec.flag:
            assert spec.flag in text


def test_docs_table_is_current() -> None:
    assert render_markdown() in DOCS.read_text(encoding="utf-8"), (
        "docs/configuration.md is stale: paste `python -m bridge.config --markdown` into it"
    )
