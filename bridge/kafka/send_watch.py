"""Bounds on the produce requests waiting for Kafka: one timer for all of them.

A request waits first to hand its records to aiokafka, then for their acknowledgements.
Each wait ends at the request's deadline (`produce.timeout.ms`), and a request still
waiting for acknowledgements asks, after each `ACK_CHECK_S` without them, whether Kafka is
still there, and stops waiting once it is not.

A timer and a timeout context per request cost more than a one-record request spends
anywhere else in the bridge; almost every request is acknowledged within milliseconds, so
one timer, set for the soonest deadline or check of all waiting requests, watches them all.
A request that runs out is cancelled, as `asyncio.timeout` would cancel it, and learns why
from its `Wait`.
"""

from __future__ import annotations

import asyncio
import enum

from bridge.kafka.health import BrokerHealth

#: While acknowledgements are outstanding this long, ask whether Kafka is still there.
ACK_CHECK_S = 1.0
#: uvloop's timers count in milliseconds and may fire that much early: what falls due
#: within it is treated as due, rather than setting the timer again for a moment later.
_EARLY_S = 0.001


class Outcome(enum.Enum):
    TIMED_OUT = "timed out"
    UNREACHABLE = "no Kafka broker is reachable"


class Wait:
    """One request's wait, from `SendWatch.start` to `SendWatch.stop`."""

    __slots__ = ("_cancelling", "_task", "acknowledging", "check_at", "deadline", "outcome")

    def __init__(self, task: asyncio.Task[object], deadline: float) -> None:
        self._task = task
        #: Cancellations of the task asked for by others before the wait began.
        self._cancelling = task.cancelling()
        self.deadline = deadline
        #: When to ask about Kafka next, once waiting for acknowledgements.
        self.check_at = float("inf")
        self.acknowledging = False
        #: Why the wait was cut short; None while it was not.
        self.outcome: Outcome | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._task.get_loop()

    def acknowledgements_next(self, now: float) -> None:
        """The records are handed over; their acknowledgements are awaited from `now`."""
        self.acknowledging = True
        self.check_at = now + ACK_CHECK_S

    def cut(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self._task.cancel()

    def cut_short(self) -> Outcome | None:
        """In the request's `except CancelledError`: why the watch cut it short, or None when
        the cancellation came from elsewhere (and must propagate)."""
        if self.outcome is not None and self._task.uncancel() <= self._cancelling:
            return self.outcome
        return None


class SendWatch:
    """The waits of one producer's requests, and the one timer that bounds them."""

    def __init__(self, timeout_s: float, health: BrokerHealth | None) -> None:
        self._timeout_s = timeout_s
        self._health = health
        self._waits: set[Wait] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._checks: set[asyncio.Task[None]] = set()

    def start(self) -> Wait:
        """Watch the current task's wait, from now until its deadline."""
        # Each look-up of the running loop costs a getpid() system call (CPython 3.11), so
        # there is one per wait.
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None, "SendWatch.start outside a task"
        wait = Wait(task, loop.time() + self._timeout_s)
        self._waits.add(wait)
        if wait.deadline < self._timer_at:
            self._arm(loop, wait.deadline)
        return wait

    def acknowledging(self, wait: Wait) -> None:
        """The wait's records are handed over: from now on it waits for acknowledgements."""
        loop = wait.loop
        wait.acknowledgements_next(loop.time())
        if self._health is not None and wait.check_at < self._timer_at:
            self._arm(loop, wait.check_at)

    def stop(self, wait: Wait) -> None:
        # The timer stays: cancelling and setting one per request is what this class saves.
        self._waits.discard(wait)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._on_timer, loop)
        self._timer_at = when

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._timer_at = None, float("inf")
        now = loop.time() + _EARLY_S
        stale: list[Wait] = []
        soonest = float("inf")
        for wait in list(self._waits):
            if wait.deadline <= now:
                self._waits.discard(wait)
                wait.cut(Outcome.TIMED_OUT)
                continue
            if self._health is not None and wait.acknowledging and wait.check_at <= now:
                stale.append(wait)
                wait.check_at = float("inf")  # until the check answers
            soonest = min(soonest, wait.deadline, wait.check_at)
        if stale:
            check = loop.create_task(self._check(stale), name="produce acknowledgements check")
            self._checks.add(check)
            check.add_done_callback(self._checks.discard)
        if soonest != float("inf"):
            self._arm(loop, soonest)

    async def _check(self, stale: list[Wait]) -> None:
        """Ask about Kafka for the requests whose acknowledgements are overdue."""
        assert self._health is not None
        reachable = await self._health.check()
        loop = asyncio.get_running_loop()
        now = loop.time()
        for wait in stale:
            if wait not in self._waits:
                continue
            if reachable:
                wait.check_at = now + ACK_CHECK_S
                if wait.check_at < self._timer_at:
                    self._arm(loop, wait.check_at)
            else:
                self._waits.discard(wait)
                wait.cut(Outcome.UNREACHABLE)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        checks = list(self._checks)
        for check in checks:
            check.cancel()
        if checks:
            await asyncio.wait(checks)
