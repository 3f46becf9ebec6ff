"""Which real broker the test session talks to (design.md): an external cluster named by
KAFKA_BOOTSTRAP_SERVERS, Apache Kafka in a container when Docker answers, or else the
embedded Tansu broker."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class KafkaTarget:
    bootstrap_servers: str
    #: True for real Apache Kafka; False for Tansu, which differs in the ways design.md lists.
    apache: bool


@cache
def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:
        return False
    return True


def expects_apache_kafka() -> bool:
    """Known before any broker starts, so that collection can skip Apache-only tests."""
    return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")) or docker_answers()


@contextlib.contextmanager
def kafka_target() -> Iterator[KafkaTarget]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield KafkaTarget(external, apache=True)
    elif docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield KafkaTarget(container.get_bootstrap_server(), apache=True)
    else:
        from bridge.embedded_broker import EmbeddedBroker

        broker = EmbeddedBroker()
        try:
            yield KafkaTarget(broker.start(), apache=False)
        finally:
            broker.stop()
