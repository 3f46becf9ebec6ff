"""The bridge's one frozen settings object.

`bridge.config` builds it from defaults, an optional properties file, environment variables
and command-line flags; everything else only reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    #: Kafka bootstrap servers (`host:port,...`). None means: start the embedded broker.
    bootstrap_servers: str | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    #: Base URL for URLs the bridge hands out (consumer `base_uri`); None: from the request.
    advertised_url: str | None = None
    schema_registry_url: str | None = None
    #: Kafka client passthrough, property names without their prefix: `kafka.acks` applies to
    #: every client, `kafka.producer.linger.ms` only to the producer, and so on.
    kafka_common: Mapping[str, str] = field(default_factory=_empty)
    kafka_producer: Mapping[str, str] = field(default_factory=_empty)
    kafka_consumer: Mapping[str, str] = field(default_factory=_empty)
    kafka_admin: Mapping[str, str] = field(default_factory=_empty)
    #: Let produce requests create missing topics where the broker allows auto-creation.
    produce_auto_create_topics: bool = False
    #: Upper bound on how long a produce request waits for the broker's acknowledgements.
    produce_timeout_ms: int = 30_000
    #: How long cached topic metadata is trusted before it is fetched again.
    metadata_max_age_ms: int = 30_000
    #: Idle consumer instances are closed after this long without a request.
    consumer_instance_timeout_ms: int = 300_000
    #: How long a read waits for records when neither the request nor the consumer says.
    consumer_request_timeout_ms: int = 5_000
    #: Upper bound on the unencoded key and value bytes of one read's response.
    consumer_request_max_bytes: int = 64 * 1024 * 1024
    #: How many consumer instances the bridge holds at once.
    consumer_max_instances: int = 1_000
    #: Group-less partition reads: how many Kafka consumers serve them (Confluent's names).
    simpleconsumer_pool_size_max: int = 25
    #: How long a partition read waits for a free consumer before answering 503.
    simpleconsumer_pool_timeout_ms: int = 1_000
    log_level: str = "INFO"
    #: `text` or `json` (one JSON object per line).
    log_format: str = "text"
    #: One access-log line per request (request id, route, status, duration).
    access_log: bool = True
    #: Serve /metrics, /healthy and /ready on this port instead of the API port.
    management_port: int | None = None
    #: Address the management listener binds; None: the same as `host`.
    management_host: str | None = None
    #: Largest request body accepted (413 beyond it).
    max_body_bytes: int = 16 * 1024 * 1024
    #: Requests served at once before the next is answered 429; 0 means no limit.
    max_inflight_requests: int = 1_000
    #: The producer and consumer APIs can be switched off (503).
    producer_enabled: bool = True
    consumer_enabled: bool = True
    #: At shutdown, how long in-flight requests get to finish before they are cut.
    shutdown_timeout_ms: int = 15_000
    #: TLS on the HTTP listener: certificate chain and key (PEM); optional client certs.
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    #: `none`, `optional` or `required` client certificates (needs tls_client_ca_file).
    tls_client_auth: str = "none"
    #: HTTP authentication: `none`, `basic` (credentials file) or `bearer` (tokens file).
    auth_type: str = "none"
    auth_basic_credentials_file: str | None = None
    auth_bearer_tokens_file: str | None = None
    #: The caller's Basic credentials become the Kafka SASL identity of their requests.
    auth_principal_propagation: bool = False
    #: Per-identity Kafka clients kept at once, and how long an unused one is kept.
    auth_principal_cache_size: int = 100
    auth_principal_cache_ttl_ms: int = 300_000
    #: CORS: origins allowed (`*` for any); empty switches CORS off.
    cors_allowed_origins: tuple[str, ...] = ()
    cors_allowed_methods: tuple[str, ...] = ("GET", "POST", "DELETE", "OPTIONS")
    cors_allowed_headers: tuple[str, ...] = ("Accept", "Authorization", "Content-Type")
    #: `none` or `opentelemetry` (the `tracing` extra; configured by the OTEL_* variables).
    tracing: str = "none"
    #: Every setting as a flat `property -> string` mapping, as given; codecs read theirs here.
    properties: Mapping[str, str] = field(default_factory=_empty)
