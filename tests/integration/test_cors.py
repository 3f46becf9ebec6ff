"""CORS over real HTTP: preflights allowed and refused, the headers of actual requests (error
responses and 401s included), `*`, and no CORS at all by default."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.consumer_helpers import instance_path
from tests.integration.helpers import BINARY_V2, V1, V2, error_of, json_of

AiohttpClient = Callable[..., Awaitable[BridgeClient]]

APP = "https://app.example.com"
EVIL = "https://evil.example.com"
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Expose-Headers",
)


async def cors_bridge(
    settings: Settings, aiohttp_client: AiohttpClient, **changes: Any
) -> BridgeClient:
    changes.setdefault("cors_allowed_origins", (APP, "http://localhost:3000"))
    return await aiohttp_client(create_app(dataclasses.replace(settings, **changes)))


def preflight(origin: str, method: str, headers: str | None = None) -> dict[str, str]:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return asked


async def test_preflight_of_an_allowed_origin_on_any_path(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    bridge = await cors_bridge(bridge_settings, aiohttp_client)
    for path in ("/topics/some-topic", "/consumers/g/instances/c/records", "/no/such/path"):
        response = await bridge.options(
            path, headers=preflight(APP, "POST", "content-type, Accept,authorization")
        )
        assert response.status == 204, (path, await response.text())
        assert response.headers["Access-Control-Allow-Origin"] == APP
        assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE, OPTIONS"
        assert response.headers["Access-Control-Allow-Headers"] == (
            "Accept, Authorization, Content-Type"
        )
        assert response.headers["Access-Control-Max-Age"] == "1800"
        assert response.headers["Vary"] == "Origin"
        assert await response.read() == b""
    # Origins match without regard to case, as browsers write them in lower case anyway.
    response = await bridge.options("/topics", headers=preflight("HTTP://LOCALHOST:3000", "GET"))
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "HTTP://LOCALHOST:3000"
    # An OPTIONS that is no preflight is answered too, not refused 405.
    response = await bridge.options("/topics", headers={"Origin": APP})
    assert response.status == 204
    assert response.headers["Allow"] == "GET, POST, DELETE, OPTIONS"
    assert response.headers["Access-Control-Allow-Origin"] == APP


async def test_preflights_refused_are_403_without_allow_origin(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    bridge = await cors_bridge(bridge_settings, aiohttp_client)
    response = await bridge.options("/topics", headers=preflight(EVIL, "GET"))
    body = await error_of(response, 403, 403)
    assert EVIL in body["message"]
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"

    response = await bridge.options("/topics", headers=preflight(APP, "PATCH"))
    body = await error_of(response, 403, 403)
    assert "method PATCH is not allowed" in body["message"]

    response = await bridge.options("/topics", headers=preflight(APP, "GET", "accept, x-custom"))
    body = await error_of(response, 403, 403)
    assert "x-custom" in body["message"]
    assert "accept" not in body["message"].split("(")[0]


async def test_actual_requests_carry_allow_origin_and_exposed_headers(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    bridge = await cors_bridge(bridge_settings, aiohttp_client)
    response = await bridge.get("/topics", headers={"Accept": V2, "Origin": APP})
    assert isinstance(await json_of(response), list)
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert response.headers["Access-Control-Expose-Headers"] == (
        "Retry-After, WWW-Authenticate, X-Request-Id"
    )
    assert response.headers["Vary"] == "Origin"
    # Error responses too, in either dialect.
    response = await bridge.get("/topics/no-such-topic-cors", headers={"Accept": V1, "Origin": APP})
    await error_of(response, 404, 40401, dialect=1)
    assert response.headers["Access-Control-Allow-Origin"] == APP
    response = await bridge.post(
        "/topics/t", data=b"{", headers={"Content-Type": BINARY_V2, "Origin": APP}
    )
    await error_of(response, 400, 400)
    assert response.headers["Access-Control-Allow-Origin"] == APP
    # Without an Origin (not a browser's cross-origin request) only Vary is written.
    response = await bridge.get("/topics", headers={"Accept": V2})
    assert response.status == 200
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_records_a_handler_sends_itself_carry_allow_origin(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, new_topic: NewTopicFactory
) -> None:
    # A consumer read prepares its own response, past any middleware's reach.
    bridge = await cors_bridge(bridge_settings, aiohttp_client)
    topic = await new_topic(partitions=1)
    group = f"cors-{topic}"
    response = await bridge.post(
        f"/consumers/{group}",
        json={"format": "binary"},
        headers={"Content-Type": V2, "Origin": APP},
    )
    instance = instance_path((await json_of(response))["base_uri"])
    response = await bridge.post(
        f"{instance}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2, "Origin": APP},
    )
    assert response.status == 204, await response.text()
    response = await bridge.get(
        f"{instance}/records?timeout=100", headers={"Accept": BINARY_V2, "Origin": APP}
    )
    assert await json_of(response, content_type=BINARY_V2) == []
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert response.headers["Vary"] == "Origin"
    await bridge.delete(instance, headers={"Origin": APP})


async def test_actual_requests_from_other_origins_are_403(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    bridge = await cors_bridge(bridge_settings, aiohttp_client)
    for method, path in (("GET", "/topics"), ("POST", "/topics/t"), ("DELETE", "/x")):
        response = await bridge.request(method, path, headers={"Accept": V2, "Origin": EVIL})
        await error_of(response, 403, 403)
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_any_origin(bridge_settings: Settings, aiohttp_client: AiohttpClient) -> None:
    bridge = await cors_bridge(bridge_settings, aiohttp_client, cors_allowed_origins=("*",))
    response = await bridge.options("/topics", headers=preflight(EVIL, "DELETE"))
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    response = await bridge.get("/topics", headers={"Accept": V2, "Origin": "null"})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_configured_methods_and_headers(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    bridge = await cors_bridge(
        bridge_settings,
        aiohttp_client,
        cors_allowed_methods=("GET",),
        cors_allowed_headers=("Accept", "X-Request-Id"),
    )
    response = await bridge.options("/topics", headers=preflight(APP, "GET", "x-request-id"))
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Methods"] == "GET"
    assert response.headers["Access-Control-Allow-Headers"] == "Accept, X-Request-Id"
    response = await bridge.options("/topics", headers=preflight(APP, "POST"))
    await error_of(response, 403, 403)


async def test_with_authentication_preflights_pass_and_401s_carry_cors_headers(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    users = tmp_path / "users"
    users.write_text("alice:secret\n")
    bridge = await cors_bridge(
        bridge_settings,
        aiohttp_client,
        auth_type="basic",
        auth_basic_credentials_file=str(users),
    )
    response = await bridge.options("/topics", headers=preflight(APP, "GET", "authorization"))
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP
    response = await bridge.get("/topics", headers={"Accept": V2, "Origin": APP})
    await error_of(response, 401, 401)
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("origin", [APP, EVIL])
async def test_cors_is_off_by_default(bridge: BridgeClient, origin: str) -> None:
    response = await bridge.get("/topics", headers={"Accept": V2, "Origin": origin})
    assert response.status == 200
    response_preflight = await bridge.options("/topics", headers=preflight(origin, "GET"))
    await error_of(response_preflight, 405, 405)
    for answer in (response, response_preflight):
        assert not any(name in answer.headers for name in CORS_HEADERS)
        assert "Origin" not in answer.headers.get("Vary", "")
