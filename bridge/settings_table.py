"""The table of known settings: one row per setting names its property key, `Settings` field,
type, parser, help text and optional command-line flag. Every source of settings, the
`--help` text and `docs/configuration.md` are driven from it; defaults are read from the
`Settings` dataclass so they are written down once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge import setting_values as values
from bridge.settings import Settings

ENV_PREFIX = "KAFKA_BRIDGE_"


def env_name(key: str) -> str:
    """`kafka.producer.linger.ms` -> `KAFKA_BRIDGE_KAFKA_PRODUCER_LINGER_MS`."""
    return ENV_PREFIX + key.upper().replace(".", "_")


@dataclass(frozen=True)
class SettingSpec:
    """One known setting: everything every source and the docs need to know about it."""

    key: str
    field: str
    type_name: str
    parse: Callable[[str], Any]
    help: str
    flag: str | None = None

    @property
    def env(self) -> str:
        return env_name(self.key)

    @property
    def default(self) -> Any:
        return FIELD_DEFAULTS[self.field]


SETTINGS_TABLE: tuple[SettingSpec, ...] = (
    SettingSpec(
        "bootstrap.servers",
        "bootstrap_servers",
        "host:port list",
        values.bootstrap_servers,
        "Kafka bootstrap servers. Unset: start an embedded in-memory broker (development mode).",
        "--bootstrap-servers",
    ),
    SettingSpec(
        "http.host", "host", "host", values.host, "Address the HTTP server binds.", "--host"
    ),
    SettingSpec(
        "http.port", "port", "int 1-65535", values.int_range(1, 65535), "HTTP port.", "--port"
    ),
    SettingSpec(
        "http.advertised.url",
        "advertised_url",
        "http(s) URL",
        values.optional_url,
        "Base URL put in the URLs the bridge hands out (consumer base_uri). "
        "Unset: taken from each request.",
        "--advertised-url",
    ),
    SettingSpec(
        "schema.registry.url",
        "schema_registry_url",
        "http(s) URL",
        values.optional_url,
        "Confluent-compatible schema registry, needed by the avro and jsonschema formats.",
        "--schema-registry-url",
    ),
    SettingSpec(
        "produce.auto.create.topics",
        "produce_auto_create_topics",
        "bool",
        values.boolean,
        "Let produce requests create missing topics where the broker allows auto-creation.",
    ),
    SettingSpec(
        "produce.timeout.ms",
        "produce_timeout_ms",
        "int > 0",
        values.int_range(1),
        "Upper bound on how long a produce request waits for the broker's acknowledgements.",
    ),
    SettingSpec(
        "metadata.max.age.ms",
        "metadata_max_age_ms",
        "int > 0",
        values.int_range(1),
        "How long cached topic metadata is trusted before it is fetched again.",
    ),
    SettingSpec(
        "consumer.instance.timeout.ms",
        "consumer_instance_timeout_ms",
        "int > 0",
        values.int_range(1),
        "Idle consumer instances are closed after this long without a request.",
    ),
    SettingSpec(
        "consumer.request.timeout.ms",
        "consumer_request_timeout_ms",
        "int >= 0",
        values.int_range(0),
        "How long a read waits for records when neither the request's timeout nor the "
        "consumer's own consumer.request.timeout.ms says.",
    ),
    SettingSpec(
        "consumer.request.max.bytes",
        "consumer_request_max_bytes",
        "int > 0",
        values.int_range(1),
        "Upper bound on the unencoded key and value bytes in one read's response; a "
        "request's max_bytes can only lower it.",
    ),
    SettingSpec(
        "consumer.max.instances",
        "consumer_max_instances",
        "int > 0",
        values.int_range(1),
        "How many consumer instances the bridge holds at once; creating one more is 429.",
    ),
    SettingSpec(
        "simpleconsumer.pool.size.max",
        "simpleconsumer_pool_size_max",
        "int > 0",
        values.int_range(1),
        "How many group-less Kafka consumers serve partition reads by offset (.../messages, "
        "partition .../records); Confluent's name.",
    ),
    SettingSpec(
        "simpleconsumer.pool.timeout.ms",
        "simpleconsumer_pool_timeout_ms",
        "int >= 0",
        values.int_range(0),
        "How long a partition read waits for a free pooled consumer before answering 503.",
    ),
    SettingSpec(
        "log.level",
        "log_level",
        "DEBUG, INFO, WARNING or ERROR",
        values.log_level,
        "Log level (case-insensitive; WARN means WARNING).",
        "--log-level",
    ),
    SettingSpec(
        "log.format",
        "log_format",
        "text or json",
        values.choice("text", "json"),
        "Log line format: text, or json (one object per line, for log collectors).",
        "--log-format",
    ),
    SettingSpec(
        "log.access",
        "access_log",
        "bool",
        values.boolean,
        "Write one access-log line per request: request id, method, route, status, duration.",
    ),
    SettingSpec(
        "http.management.port",
        "management_port",
        "int 1-65535",
        values.optional_int_range(1, 65535),
        "Serve /metrics, /healthy and /ready on this port (same host) instead of the API "
        "port. Unset: on the API port.",
        "--management-port",
    ),
    SettingSpec(
        "http.management.host",
        "management_host",
        "host",
        values.optional_host,
        "Address the management listener binds, e.g. 0.0.0.0 for the kubelet's probes "
        "while the API binds 127.0.0.1. Unset: http.host.",
    ),
    SettingSpec(
        "http.max.body.bytes",
        "max_body_bytes",
        "int > 0",
        values.int_range(1),
        "Largest request body accepted; a larger one is answered 413.",
    ),
    SettingSpec(
        "http.max.inflight.requests",
        "max_inflight_requests",
        "int >= 0",
        values.int_range(0),
        "Requests served at once; one more is answered 429 with Retry-After. 0: no limit.",
    ),
    SettingSpec(
        "http.producer.enabled",
        "producer_enabled",
        "bool",
        values.boolean,
        "Serve the producer API; false answers its requests with 503 (Strimzi's name).",
    ),
    SettingSpec(
        "http.consumer.enabled",
        "consumer_enabled",
        "bool",
        values.boolean,
        "Serve the consumer API (consumer instances and partition reads); false answers "
        "them with 503 (Strimzi's name).",
    ),
    SettingSpec(
        "http.shutdown.timeout.ms",
        "shutdown_timeout_ms",
        "int >= 0",
        values.int_range(0),
        "At SIGTERM, how long requests in flight get to finish before they are cut; then "
        "consumers are closed and the producer flushed.",
    ),
    SettingSpec(
        "http.tls.cert.file",
        "tls_cert_file",
        "path",
        values.optional_file,
        "PEM certificate chain: serve HTTPS. Needs http.tls.key.file.",
        "--tls-cert-file",
    ),
    SettingSpec(
        "http.tls.key.file",
        "tls_key_file",
        "path",
        values.optional_file,
        "PEM private key of http.tls.cert.file.",
        "--tls-key-file",
    ),
    SettingSpec(
        "http.tls.client.ca.file",
        "tls_client_ca_file",
        "path",
        values.optional_file,
        "PEM CA bundle that client certificates are checked against.",
    ),
    SettingSpec(
        "http.tls.client.auth",
        "tls_client_auth",
        "none, optional or required",
        values.choice("none", "optional", "required"),
        "Ask for client certificates: none, optional (checked when given) or required.",
    ),
    SettingSpec(
        "http.auth.type",
        "auth_type",
        "none, basic or bearer",
        values.choice("none", "basic", "bearer"),
        "HTTP authentication of API requests: none, basic (http.auth.basic.credentials.file) "
        "or bearer (http.auth.bearer.tokens.file); 401 without valid credentials.",
    ),
    SettingSpec(
        "http.auth.basic.credentials.file",
        "auth_basic_credentials_file",
        "path",
        values.optional_file,
        "Basic credentials, one `user:password` per line (the password may be "
        "`sha256:<hex>`); # comments.",
    ),
    SettingSpec(
        "http.auth.bearer.tokens.file",
        "auth_bearer_tokens_file",
        "path",
        values.optional_file,
        "Bearer tokens, one `principal:token` per line (the token may be `sha256:<hex>`).",
    ),
    SettingSpec(
        "http.auth.principal.propagation",
        "auth_principal_propagation",
        "bool",
        values.boolean,
        "With basic auth: the caller's user and password become the Kafka SASL identity "
        "(kafka.sasl.mechanism PLAIN or SCRAM-SHA-256/512) of the clients serving them.",
    ),
    SettingSpec(
        "http.auth.principal.cache.size",
        "auth_principal_cache_size",
        "int > 0",
        values.int_range(1),
        "With principal propagation: how many per-identity producers are kept at once.",
    ),
    SettingSpec(
        "http.auth.principal.cache.ttl.ms",
        "auth_principal_cache_ttl_ms",
        "int > 0",
        values.int_range(1),
        "With principal propagation: an identity's producer unused this long is closed.",
    ),
    SettingSpec(
        "http.cors.allowed.origins",
        "cors_allowed_origins",
        "comma list",
        values.origins,
        "CORS: origins allowed (`*` for any). Empty: CORS off.",
    ),
    SettingSpec(
        "http.cors.allowed.methods",
        "cors_allowed_methods",
        "comma list",
        values.http_tokens,
        "CORS: methods allowed in preflight answers.",
    ),
    SettingSpec(
        "http.cors.allowed.headers",
        "cors_allowed_headers",
        "comma list",
        values.http_tokens,
        "CORS: request headers allowed in preflight answers.",
    ),
    SettingSpec(
        "tracing",
        "tracing",
        "none or opentelemetry",
        values.choice("none", "opentelemetry"),
        "OpenTelemetry tracing (install the `tracing` extra; export configured by the "
        "standard OTEL_* environment variables).",
    ),
)

FIELD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Settings)}
