"""Whether a Kafka broker answers now, as far as the bridge knows: `/ready` reports it, and
requests use it to fail at once, with a retriable error, while Kafka is away.

The state is the outcome of the last probe (a cheap metadata request, bounded in time) or of
the last request that Kafka answered. A probe runs only when someone asks and the state is
older than a fraction of a second, and concurrent askers share it, so probes cost the broker
little however many requests and readiness checks arrive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bridge.errors import BridgeError, ErrorKind

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A probe result is reused this long: enough to share one probe between a burst of requests.
_FRESH_S = 0.5
#: Bounds a probe, so a readiness check or a request waiting on one answers within it.
PROBE_TIMEOUT_S = 2.0
#: A Kafka call unanswered this long makes `watch` ask whether Kafka is still there.
WATCH_S = 1.0


class BrokerHealth:
    def __init__(self, probe: Callable[[float], Awaitable[bool]]) -> None:
        """`probe(timeout_s)` is True when a broker answered within `timeout_s`."""
        self._probe = probe
        #: None until the first probe or answer.
        self._reachable: bool | None = None
        self._checked_at = float("-inf")
        self._probing: asyncio.Task[bool] | None = None

    @property
    def reachable(self) -> bool:
        """The last known state, without asking Kafka (False until a broker first answered)."""
        return self._reachable is True

    def saw_answer(self) -> None:
        """Kafka just answered a request: that is as good as a probe."""
        self._set(True)

    async def check(self) -> bool:
        """Whether a broker answers: a fresh probe unless the state is fresh already."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._checked_at < _FRESH_S:
            return self.reachable
        if self._probing is None or self._probing.done():
            self._probing = asyncio.create_task(self._probe_once(), name="Kafka health probe")
        # Shielded: one caller giving up must not cancel the probe the others wait for.
        return await asyncio.shield(self._probing)

    async def require(self, doing: str) -> None:
        """Raise a retriable BridgeError at once if Kafka is known to be away and still is.

        Costs nothing while Kafka answers; during an outage it answers from the last probe."""
        if self._reachable is True or await self.check():
            return
        raise BridgeError(ErrorKind.KAFKA_RETRIABLE, f"{doing}: no Kafka broker is reachable")

    async def watch(self, call: Awaitable[T], doing: str) -> T:
        """Await `call`, but give up with a retriable BridgeError (cancelling it) once Kafka
        is found gone: asked after each `WATCH_S` without an answer. For calls that aiokafka
        would otherwise retry quietly until their own time-out while Kafka is away."""
        task = asyncio.ensure_future(call)
        try:
            while True:
                done, _ = await asyncio.wait([task], timeout=WATCH_S)
                if done:
                    return task.result()
                if not await self.check():
                    raise BridgeError(
                        ErrorKind.KAFKA_RETRIABLE, f"{doing}: no Kafka broker is reachable"
                    )
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait([task])

    async def _probe_once(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                answered = await self._probe(PROBE_TIMEOUT_S)
        except TimeoutError:
            answered = False
        self._set(answered)
        return answered

    def _set(self, reachable: bool) -> None:
        if reachable != self._reachable:
            if reachable:
                log.info("Kafka answers")
            else:
                log.warning("no Kafka broker answers; Kafka requests fail with a retriable error")
        self._reachable = reachable
        self._checked_at = asyncio.get_running_loop().time()

    async def close(self) -> None:
        if self._probing is not None and not self._probing.done():
            self._probing.cancel()
            await asyncio.wait([self._probing])
