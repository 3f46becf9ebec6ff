"""Starting a long-lived Kafka client without needing a broker at that moment.

A sidecar often starts before the broker answers, and the broker can be away for a while
later. Each shared client (producer, metadata, offset reader) is started by a `ClientStarter`:
in the background, retried with a growing pause until a broker answers. A request that needs
the client before then asks for an attempt at once and waits for its outcome, bounded in
time, and is otherwise answered with a retriable error. A start that fails for a reason a
retry cannot fix (a non-retriable Kafka error such as a broker refusing idempotent producers)
is not retried: it is reported to every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError

from bridge.errors import BridgeError, ErrorKind

log = logging.getLogger(__name__)

#: Start-up waits this long for a broker's first answer before serving without one.
FIRST_ATTEMPT_S = 5.0
#: A request waits this long at most for a client that has not started yet.
START_WAIT_S = 3.0
_FIRST_PAUSE_S = 0.25
_MAX_PAUSE_S = 2.0


def _retriable(exc: BaseException) -> bool:
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)
    return isinstance(exc, OSError | TimeoutError)


class ClientStarter:
    """Runs `start` in the background until it succeeds or fails for good."""

    def __init__(self, name: str, start: Callable[[], Awaitable[None]], hint: str = "") -> None:
        self._name = name
        self._start = start
        #: Appended to the report of a start that failed for good: what the user can change.
        self._hint = hint
        self._task: asyncio.Task[None] | None = None
        #: Failed attempts so far, and the last one's error; waiters watch the count.
        self._failed_attempts = 0
        self._last_error: BaseException | None = None
        self._attempted = asyncio.Condition()
        self._retry_now = asyncio.Event()
        self._failure: BaseException | None = None

    @property
    def started(self) -> bool:
        task = self._task
        return task is not None and task.done() and not task.cancelled() and self._failure is None

    def begin(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"start {self._name}")

    async def first_attempt(self, timeout_s: float) -> None:
        """Wait (bounded) for the first attempt; raise only if the start failed for good.

        Start-up uses it so that a broker that answers is used at once and a configuration
        the broker rejects still stops the bridge, while an absent broker does not."""
        self.begin()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._attempt_outcome(0)
        if self._failure is not None:
            raise RuntimeError(f"the {self._name} could not start: {self._failure!r}{self._hint}")

    async def _run(self) -> None:
        pause = _FIRST_PAUSE_S
        while True:
            try:
                await self._start()
            except Exception as exc:
                if not _retriable(exc):
                    log.error(
                        "the %s could not start and will not retry: %r%s",
                        self._name,
                        exc,
                        self._hint,
                    )
                    self._failure = exc
                    await self._notify()
                    return
                if self._failed_attempts == 0:
                    log.warning(
                        "the %s cannot reach Kafka yet (%r); retrying in the background",
                        self._name,
                        exc,
                    )
                self._failed_attempts += 1
                self._last_error = exc
                await self._notify()
                self._retry_now.clear()
                # A request that needs the client cuts the pause short.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._retry_now.wait()
                pause = min(pause * 2, _MAX_PAUSE_S)
                continue
            if self._failed_attempts:
                log.info("the %s has reached Kafka", self._name)
            await self._notify()
            return

    async def _notify(self) -> None:
        async with self._attempted:
            self._attempted.notify_all()

    async def _attempt_outcome(self, failed_before: int) -> None:
        """Until the start is over or an attempt after the first `failed_before` failed."""
        assert self._task is not None
        task = self._task
        async with self._attempted:
            await self._attempted.wait_for(
                lambda: task.done() or self._failed_attempts > failed_before
            )

    async def wait(self, timeout_s: float, doing: str) -> None:
        """Return once the client is started. Otherwise try to start it now, and raise a
        retriable BridgeError when that attempt fails or `timeout_s` passes."""
        if self.started:
            return
        self.begin()
        assert self._task is not None
        if not self._task.done():
            failed_before = self._failed_attempts
            self._retry_now.set()
            try:
                async with asyncio.timeout(timeout_s):
                    await self._attempt_outcome(failed_before)
            except TimeoutError:
                pass
            if not self._task.done():
                why = f" ({self._last_error!r})" if self._last_error is not None else ""
                raise BridgeError(
                    ErrorKind.KAFKA_RETRIABLE, f"{doing}: Kafka is not reachable{why}"
                )
        if self._task.cancelled():
            raise BridgeError(ErrorKind.KAFKA_RETRIABLE, f"{doing}: the bridge is shutting down")
        if self._failure is not None:
            raise BridgeError(
                ErrorKind.KAFKA_ERROR,
                f"{doing}: the {self._name} could not start: {self._failure!r}{self._hint}",
            )

    async def close(self) -> None:
        """Stop retrying (shutdown); the caller closes the client itself."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task])
