"""How aiokafka's exceptions become the bridge's errors, and what each dialect answers."""

from __future__ import annotations

from aiokafka.errors import (
    CommitFailedError,
    KafkaTimeoutError,
    RebalanceInProgressError,
    TopicAuthorizationFailedError,
)

from bridge.dialects import DIALECTS
from bridge.errors import ErrorKind
from bridge.kafka.failures import kafka_failure


def test_a_commit_refused_after_a_rebalance_is_a_conflict_not_a_server_error() -> None:
    error = kafka_failure(CommitFailedError("stale generation"), "committing offsets")
    assert error.kind is ErrorKind.GROUP_REBALANCED
    assert error.message.startswith("committing offsets: the group rebalanced")
    assert "Read records again" in error.message
    assert DIALECTS[1].error_status(error) == (409, 409)
    assert DIALECTS[2].error_status(error) == (409, 409)
    error = kafka_failure(RebalanceInProgressError(), "committing offsets")
    assert error.kind is ErrorKind.GROUP_REBALANCED
    assert "the group is rebalancing" in error.message


def test_retriable_and_other_kafka_errors() -> None:
    for retriable in (KafkaTimeoutError(), TimeoutError()):
        error = kafka_failure(retriable, "doing it")
        assert error.kind is ErrorKind.KAFKA_RETRIABLE, retriable
        assert DIALECTS[1].error_status(error) == (500, 50003)
        assert DIALECTS[2].error_status(error) == (503, 503)
    error = kafka_failure(TopicAuthorizationFailedError(), "doing it")
    assert error.kind is ErrorKind.KAFKA_ERROR
    assert DIALECTS[2].error_status(error) == (500, 500)
