"""Turns the bridge's Kafka passthrough properties into aiokafka keyword arguments.

Users write Kafka's own property names (`linger.ms`, `security.protocol`, `ssl.cafile`);
aiokafka takes Python keyword arguments. The target class's signature decides which names
exist and what type each value is converted to, so new aiokafka options work without a table.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context

from bridge.settings import Settings

#: Kafka (Java client) property names whose aiokafka argument is not the dotted name.
_ALIASES = {"batch.size": "max_batch_size"}
#: Arguments the bridge sets itself; a property for one of them would silently do nothing.
_RESERVED = frozenset(
    {
        "loop",
        "bootstrap_servers",
        "key_serializer",
        "value_serializer",
        "key_deserializer",
        "value_deserializer",
        "group_id",
        "ssl_context",
        "api_version",
    }
)
_SSL_KEYS = {
    "ssl.cafile": "cafile",
    "ssl.capath": "capath",
    "ssl.certfile": "certfile",
    "ssl.keyfile": "keyfile",
    "ssl.password": "password",
}


class KafkaConfigError(ValueError):
    """A passthrough property that the Kafka client does not take, or a bad value for it."""


#: Integer parameters whose aiokafka default is None, so their type can't be read off it.
_INT_WITHOUT_DEFAULT = frozenset({"max_poll_records", "rebalance_timeout_ms"})


def _convert(prop: str, raw: str, default: Any) -> Any:
    text = raw.strip()
    if default is None and prop.replace(".", "_") in _INT_WITHOUT_DEFAULT:
        default = 0
    if isinstance(default, bool):
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise KafkaConfigError(f"{prop}={raw!r}: expected true or false")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise KafkaConfigError(f"{prop}={raw!r}: expected an integer") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise KafkaConfigError(f"{prop}={raw!r}: expected a number") from None
    if prop == "acks":
        return text if text == "all" else _convert(prop, text, 0)
    return text


def client_kwargs(client_class: type, prefix: str, properties: Mapping[str, str]) -> dict[str, Any]:
    """aiokafka keyword arguments for `client_class` from Kafka-style `properties`.

    `prefix` (such as `kafka.producer.`) only names the properties in error messages.
    """
    parameters = inspect.signature(client_class).parameters
    kwargs: dict[str, Any] = {}
    ssl_args: dict[str, str] = {}
    for prop, raw in properties.items():
        if prop in _SSL_KEYS:
            ssl_args[_SSL_KEYS[prop]] = raw
            continue
        name = _ALIASES.get(prop, prop.replace(".", "_").replace("-", "_"))
        if name in _RESERVED or name not in parameters:
            raise KafkaConfigError(f"{prefix}{prop}: not a setting of {client_class.__name__}")
        kwargs[name] = _convert(prop, raw, parameters[name].default)
    if ssl_args:
        kwargs["ssl_context"] = create_ssl_context(**ssl_args)
    elif kwargs.get("security_protocol") in ("SSL", "SASL_SSL"):
        kwargs["ssl_context"] = create_ssl_context()
    return kwargs


def _merged(
    client_class: type, common: Mapping[str, str], specific: Mapping[str, str]
) -> dict[str, str]:
    """`kafka.*` properties go to every client that takes them; `kafka.<client>.*` win."""
    parameters = inspect.signature(client_class).parameters
    shared = {
        prop: value
        for prop, value in common.items()
        if prop in _SSL_KEYS or _ALIASES.get(prop, prop.replace(".", "_")) in parameters
    }
    return {**shared, **specific}


def check_common_properties(common: Mapping[str, str]) -> None:
    """Fail at start-up on a `kafka.*` property that no Kafka client takes (a typo)."""
    classes = (AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient)
    for prop in common:
        if prop in _SSL_KEYS:
            continue
        name = _ALIASES.get(prop, prop.replace(".", "_"))
        if not any(name in inspect.signature(c).parameters for c in classes):
            raise KafkaConfigError(f"kafka.{prop}: no Kafka client takes this setting")


def producer_kwargs(settings: Settings) -> dict[str, Any]:
    """The shared producer's arguments: safe defaults (acks=all, idempotence) first."""
    defaults = {"acks": "all", "enable.idempotence": "true", "client.id": "kafka-bridge"}
    props = {
        **defaults,
        **_merged(AIOKafkaProducer, settings.kafka_common, settings.kafka_producer),
    }
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        **client_kwargs(AIOKafkaProducer, "kafka.producer.", props),
    }


def consumer_kwargs(settings: Settings) -> dict[str, Any]:
    defaults = {"client.id": "kafka-bridge"}
    props = {
        **defaults,
        **_merged(AIOKafkaConsumer, settings.kafka_common, settings.kafka_consumer),
    }
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        **client_kwargs(AIOKafkaConsumer, "kafka.consumer.", props),
    }


def admin_kwargs(settings: Settings) -> dict[str, Any]:
    defaults = {"client.id": "kafka-bridge-admin"}
    props = {
        **defaults,
        **_merged(AIOKafkaAdminClient, settings.kafka_common, settings.kafka_admin),
    }
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        **client_kwargs(AIOKafkaAdminClient, "kafka.admin.", props),
    }
