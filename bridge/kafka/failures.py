"""Turns aiokafka's exceptions and time-outs into the bridge's domain errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka.errors import (
    CommitFailedError,
    KafkaError,
    KafkaTimeoutError,
    RebalanceInProgressError,
)

from bridge.errors import BridgeError, ErrorKind


def kafka_failure(exc: BaseException, doing: str) -> BridgeError:
    """The domain error for a failed Kafka operation; retriable errors say so."""
    if isinstance(exc, BridgeError):
        return exc
    # aiokafka does not mark its own time-out retriable; Kafka's clients do, and so do we.
    if isinstance(exc, TimeoutError | KafkaTimeoutError):
        return BridgeError(ErrorKind.KAFKA_RETRIABLE, f"{doing}: Kafka did not answer in time")
    if isinstance(exc, CommitFailedError):
        # Not the bridge's fault nor the client's: the group moved on (a rebalance, or this
        # member missed its heartbeats). The client reads again and commits what it gets.
        return BridgeError(
            ErrorKind.GROUP_REBALANCED,
            f"{doing}: the group rebalanced and this consumer no longer owns the partitions; "
            "the commit was refused. Read records again, then commit.",
        )
    if isinstance(exc, RebalanceInProgressError):
        return BridgeError(
            ErrorKind.GROUP_REBALANCED,
            f"{doing}: the group is rebalancing, so the commit was refused. Read records "
            "again, then commit.",
        )
    if isinstance(exc, KafkaError):
        kind = ErrorKind.KAFKA_RETRIABLE if exc.retriable else ErrorKind.KAFKA_ERROR
        return BridgeError(kind, f"{doing}: {type(exc).__name__}: {exc}")
    return BridgeError(ErrorKind.KAFKA_ERROR, f"{doing}: {type(exc).__name__}: {exc}")


@asynccontextmanager
async def kafka_call(doing: str, timeout_s: float) -> AsyncIterator[None]:
    """Bound a Kafka call in time and report its failure as a BridgeError."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except (KafkaError, TimeoutError) as exc:
        raise kafka_failure(exc, doing) from exc
