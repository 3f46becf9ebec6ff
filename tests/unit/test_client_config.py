"""Kafka client passthrough: property values typed as aiokafka's parameters want them."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer

from bridge.kafka.client_config import KafkaConfigError, client_kwargs


def test_integer_parameters_without_a_default_are_integers() -> None:
    # aiokafka's default for these is None, so their type can't be read off the default.
    kwargs = client_kwargs(
        AIOKafkaConsumer,
        "kafka.consumer.",
        {"max.poll.records": "2000", "rebalance.timeout.ms": "30000"},
    )
    assert kwargs == {"max_poll_records": 2000, "rebalance_timeout_ms": 30000}


def test_a_non_integer_for_them_is_a_configuration_error() -> None:
    with pytest.raises(KafkaConfigError, match=r"max\.poll\.records"):
        client_kwargs(AIOKafkaConsumer, "kafka.consumer.", {"max.poll.records": "many"})
