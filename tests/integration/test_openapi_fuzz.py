"""schemathesis against the bridge's own `GET /openapi`, over real HTTP: for every operation,
requests that fit the document and requests that break it. No answer is a 5xx, each one's
status and Content-Type are among those the document lists, every error is the JSON
envelope, and afterwards the bridge still serves a normal produce and read.

schemathesis sends with `requests`, which blocks: the cases run in a worker thread while the
bridge keeps serving on the event loop. Operations on a consumer instance run twice: with
generated names (no such instance, 404) and with a live instance's, so that their bodies
reach the instance. Two generated things would change the shared broker, so they are left
to the negative phase: valid new topics (`POST /admin/topics`) and subscriptions to valid
topic names (which a broker that auto-creates topics would create).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.bad_input_helpers import assert_still_serving, check_answer
from tests.integration.helpers import V2

#: Cases per operation and generation mode: with ~30 operations, some of them twice, this
#: keeps the whole run within about a minute on a CI machine.
EXAMPLES_PER_OPERATION = 10
#: No request may take longer; the bridge's own waits are bounded well below it.
REQUEST_TIMEOUT_S = 20.0
#: Generated reads would wait up to their `timeout`, which may be 24 days: fix it.
READ_TIMEOUT_MS = 100
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
INSTANCE_PREFIX = "/consumers/{group}/instances/{name}"
#: Left to the negative phase, as the module docstring says.
NEGATIVE_ONLY = {("POST", "/admin/topics")}
NEGATIVE_ONLY_ON_LIVE_INSTANCE = {("POST", f"{INSTANCE_PREFIX}/subscription")}


Operation = APIOperation[Any, Any, Any, Any]


@dataclass
class Plan:
    """One operation in one generation mode, with the parameters it is pinned to."""

    operation: Operation
    mode: GenerationMode
    path_parameters: dict[str, str] = field(default_factory=dict)
    query: dict[str, int] = field(default_factory=dict)
    #: A live instance to make sure of before the cases run.
    instance: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        live = " (live instance)" if self.instance else ""
        return f"{self.operation.method.upper()} {self.operation.path} {self.mode.value}{live}"


def plans_for(operation: Operation, topic: str, live: tuple[str, str]) -> list[Plan]:
    key = (operation.method.upper(), operation.path)
    names = {p.name for p in operation.path_parameters} | {p.name for p in operation.query}
    query = {"timeout": READ_TIMEOUT_MS} if "timeout" in names else {}
    modes = [GenerationMode.NEGATIVE]
    if key not in NEGATIVE_ONLY:
        modes.insert(0, GenerationMode.POSITIVE)
    # Half the topic operations on our own topic, so that valid bodies get as far as Kafka.
    on_topic = {"topic": topic} if "topic" in names else {}
    plans = [Plan(operation, mode, {}, query) for mode in modes]
    plans += [Plan(operation, mode, on_topic, query) for mode in modes if on_topic]
    if operation.path.startswith(INSTANCE_PREFIX):
        group, name = live
        live_modes = [GenerationMode.NEGATIVE]
        if key not in NEGATIVE_ONLY_ON_LIVE_INSTANCE:
            live_modes.insert(0, GenerationMode.POSITIVE)
        plans += [
            Plan(operation, mode, {"group": group, "name": name, **on_topic}, query, live)
            for mode in live_modes
        ]
    return plans


def ensure_instance(base_url: str, group: str, name: str) -> None:
    """Create the live instance unless it exists (a generated DELETE may have removed it)."""
    response = requests.post(
        f"{base_url}/consumers/{group}",
        json={"name": name, "format": "binary", "auto.offset.reset": "earliest"},
        headers={"Content-Type": V2},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert response.status_code in (200, 409), response.text


def run_plan(plan: Plan, base_url: str) -> None:
    """Send the plan's cases and check every answer (blocking: runs in a worker thread)."""
    if plan.instance is not None:
        ensure_instance(base_url, *plan.instance)
    strategy = plan.operation.as_strategy(
        generation_mode=plan.mode,
        path_parameters=plan.path_parameters or None,
        query=plan.query or None,
    )

    # Generating a case is slow next to answering it for some operations, and negative
    # generation filters a lot: neither says anything about the bridge.
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Case[Operation]) -> None:
        response = case.call(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
        case.validate_response(response, checks=CHECKS)
        check_answer(
            response.status_code,
            (response.headers.get("content-type") or [""])[0],
            response.content,
            f"{plan.label}: {case.method} {case.formatted_path} {case.query} {case.body!r}",
            # What a success carries is the document's to say (content_type_conformance):
            # metrics are text, probes have no body.
            json_success=False,
        )

    try:
        run()
    except Unsatisfiable:
        # Nothing to break: the operation has no parameters or body, or all are pinned.
        if plan.mode is not GenerationMode.NEGATIVE:
            raise


@pytest.fixture
async def openapi_bridge(
    bridge_settings: Settings, aiohttp_client: Callable[..., Awaitable[BridgeClient]]
) -> BridgeClient:
    settings = replace(bridge_settings, consumer_request_timeout_ms=READ_TIMEOUT_MS)
    return await aiohttp_client(create_app(settings))


# schemathesis' own strategies use `random`; not ours to fix.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_every_operation_of_our_own_document(
    openapi_bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=2, prefix="openapi")
    response = await openapi_bridge.get("/openapi")
    assert response.status == 200
    document: dict[str, Any] = await response.json(content_type=None)
    schema = schemathesis.openapi.from_dict(document)
    base_url = str(openapi_bridge.make_url("")).rstrip("/")
    live = (f"openapi-{uuid.uuid4().hex[:8]}", "live")

    plans: list[Plan] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # schemathesis can read every operation
        plans += plans_for(result.ok(), topic, live)
    assert len({p.operation.label for p in plans}) >= len(document["paths"])

    def run_all() -> None:
        for plan in plans:
            run_plan(plan, base_url)

    await asyncio.to_thread(run_all)
    await assert_still_serving(openapi_bridge, topic)
