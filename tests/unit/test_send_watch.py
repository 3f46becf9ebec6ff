"""The one timer that bounds produce waits: a wait past its deadline is cut as timed out,
an overdue acknowledgement wait asks about Kafka and is cut once Kafka is gone, a wait that
ends in time is left alone, and a cancellation from elsewhere still propagates.

The waits here are on futures nobody completes (no broker is involved: what is tested is
the timing); the health is a `BrokerHealth` over a probe whose answer the test chooses.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bridge.kafka import send_watch
from bridge.kafka.health import BrokerHealth
from bridge.kafka.send_watch import Outcome, SendWatch


def health(answers: list[bool]) -> BrokerHealth:
    """A health whose probes answer as `answers` says, the last answer repeated."""

    async def probe(timeout_s: float) -> bool:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return BrokerHealth(probe)


async def wait_on(
    watch: SendWatch, never: asyncio.Future[None], acknowledging: bool = True
) -> Outcome | None:
    """What a produce request does: start, (hand over,) wait, stop."""
    wait = watch.start()
    try:
        if acknowledging:
            watch.acknowledging(wait)
        await never
    except asyncio.CancelledError:
        outcome = wait.cut_short()
        if outcome is None:
            raise
        return outcome
    finally:
        watch.stop(wait)
    return None


async def test_a_wait_past_its_deadline_is_cut_as_timed_out() -> None:
    watch = SendWatch(0.05, health=None)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    for acknowledging in (False, True):  # handing over, and waiting for acknowledgements
        never: asyncio.Future[None] = loop.create_future()
        task = asyncio.create_task(wait_on(watch, never, acknowledging))
        assert await task is Outcome.TIMED_OUT
        assert task.cancelling() == 0  # the watch's own cancellation was taken back
        assert never.cancelled()
    assert 0.1 <= time.monotonic() - started < 1.0
    await watch.close()


async def test_waits_that_end_in_time_are_left_alone_by_one_timer() -> None:
    watch = SendWatch(0.2, health=None)
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[None]] = [loop.create_future() for _ in range(50)]
    tasks = [asyncio.create_task(wait_on(watch, f)) for f in futures]
    await asyncio.sleep(0.01)
    for future in futures:
        future.set_result(None)
    assert await asyncio.gather(*tasks) == [None] * 50
    # The timer set for the first deadline outlives the waits, and finds nothing to cut.
    await asyncio.sleep(0.3)
    late: asyncio.Future[None] = loop.create_future()
    task = asyncio.create_task(wait_on(watch, late))
    await asyncio.sleep(0.05)
    late.set_result(None)
    assert await task is None
    await watch.close()


async def test_an_overdue_acknowledgement_wait_stops_once_kafka_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(send_watch, "ACK_CHECK_S", 0.05)
    loop = asyncio.get_running_loop()
    # Kafka answers the first check, and not the second: the wait goes on past the first.
    watch = SendWatch(5.0, health([True, False]))
    started = time.monotonic()
    never: asyncio.Future[None] = loop.create_future()
    assert await wait_on(watch, never) is Outcome.UNREACHABLE
    assert 0.1 <= time.monotonic() - started < 2.0
    await watch.close()


async def test_handing_over_is_bounded_by_the_deadline_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(send_watch, "ACK_CHECK_S", 0.01)
    watch = SendWatch(0.2, health([False]))
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    # Not yet acknowledging: Kafka being gone does not cut it; the deadline does.
    assert await wait_on(watch, never, acknowledging=False) is Outcome.TIMED_OUT
    await watch.close()


async def test_a_cancellation_from_elsewhere_propagates() -> None:
    watch = SendWatch(5.0, health=None)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait_on(watch, never))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await watch.close()
