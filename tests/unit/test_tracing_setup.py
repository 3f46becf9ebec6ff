"""Setting tracing up: off by default, the exporters the OTEL_* variables choose, the service
name, and the install hint when the OpenTelemetry packages are missing."""

from __future__ import annotations

import sys

import pytest
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from bridge import otel_tracing
from bridge.settings import Settings
from bridge.tracing import (
    INSTALL_HINT,
    NO_TRACING,
    TracingConfigError,
    build_tracing,
    tracing_middleware,
    tracing_middlewares,
)

TRACED = Settings(tracing="opentelemetry")


def test_tracing_is_off_by_default() -> None:
    assert build_tracing(Settings()) is NO_TRACING
    assert tracing_middlewares(Settings()) == []
    assert tracing_middlewares(TRACED) == [tracing_middleware]


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("none", []),
        ("console", [ConsoleSpanExporter]),
        (" Console , none ", [ConsoleSpanExporter]),
    ],
)
def test_exporters_follow_otel_traces_exporter(variable: str, expected: list[type]) -> None:
    chosen = otel_tracing.exporters({"OTEL_TRACES_EXPORTER": variable})
    assert [type(exporter) for exporter in chosen] == expected


def test_otlp_over_http_is_the_default_exporter() -> None:
    trace_exporter = pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    chosen = otel_tracing.exporters({})
    assert [type(exporter) for exporter in chosen] == [trace_exporter.OTLPSpanExporter]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER names 'jaeger'"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTLP protocol 'grpc' is not supported"),
        (
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
            },
            "OTLP protocol 'http/json'",
        ),
    ],
)
def test_unusable_exporter_settings_are_configuration_errors(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(TracingConfigError, match=message):
        otel_tracing.exporters(environ)


def test_service_name_defaults_to_kafka_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert otel_tracing.service_resource().attributes["service.name"] == "kafka-bridge"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes")
    assert otel_tracing.service_resource().attributes["service.name"] == "from-attributes"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-bridge")
    assert otel_tracing.service_resource().attributes["service.name"] == "orders-bridge"


def test_missing_packages_answer_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the `tracing` extra were not installed: the SDK cannot be imported.
    monkeypatch.delitem(sys.modules, "bridge.otel_tracing")
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(TracingConfigError) as raised:
        build_tracing(TRACED)
    assert INSTALL_HINT in str(raised.value)
    assert "opentelemetry.sdk.trace" in str(raised.value)
