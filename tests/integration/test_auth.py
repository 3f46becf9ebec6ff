"""HTTP authentication over real HTTP: Basic and Bearer accepted and refused (401 in the
dialect's envelope with a WWW-Authenticate challenge), the caller's principal on the request,
probes exempt, and bad credential files refused when the app is built."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from bridge.app import create_app
from bridge.auth import principal_of
from bridge.auth_files import AuthConfigError
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.conftest import EndOffsets
from tests.integration.helpers import BINARY_V2, V1_REFERENCE_ACCEPT, V2, error_of, json_of

AiohttpClient = Callable[..., Awaitable[BridgeClient]]

BASIC_CHALLENGE = 'Basic realm="kafka-bridge", charset="UTF-8"'
BEARER_CHALLENGE = 'Bearer realm="kafka-bridge"'
INVALID_TOKEN_CHALLENGE = 'Bearer realm="kafka-bridge", error="invalid_token"'
#: (dialect, Accept, error_code of a 401)
DIALECTS = [
    pytest.param(1, V1_REFERENCE_ACCEPT, 40101, id="v1"),
    pytest.param(2, V2, 401, id="v2"),
]


def sha256_entry(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


async def whoami(request: web.Request) -> web.Response:
    principal = principal_of(request)
    body = None if principal is None else {"name": principal.name, "pw": principal.password}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def secured_bridge(
    settings: Settings, aiohttp_client: AiohttpClient, tmp_path: Path, auth_type: str
) -> BridgeClient:
    """A bridge with authentication, plus `GET /whoami`, which answers the request's principal."""
    credentials = tmp_path / "users"
    credentials.write_text(f"# test users\nalice:in:wonderland\nbob:{sha256_entry('builder')}\n")
    tokens = tmp_path / "tokens"
    tokens.write_text(f"ingest:tok-plain\ningest:{sha256_entry('tok-hashed')}\n")
    app = create_app(
        dataclasses.replace(
            settings,
            auth_type=auth_type,
            auth_basic_credentials_file=str(credentials),
            auth_bearer_tokens_file=str(tokens),
        )
    )
    app.router.add_get("/whoami", whoami)
    return await aiohttp_client(app)


def basic_credentials(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": basic_credentials(user, password)}


async def test_basic_accepts_plain_and_sha256_passwords_and_keeps_the_principal(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    bridge = await secured_bridge(bridge_settings, aiohttp_client, tmp_path, "basic")
    response = await bridge.get("/topics", headers={"Accept": V2, **basic("bob", "builder")})
    assert isinstance(await json_of(response), list)
    response = await bridge.get(
        "/whoami", headers={"Accept": V2, **basic("alice", "in:wonderland")}
    )
    assert await json_of(response, content_type="application/json") == {
        "name": "alice",
        "pw": "in:wonderland",
    }
    # The scheme is case-insensitive (RFC 9110).
    lower = {"Authorization": "basic " + base64.b64encode(b"bob:builder").decode()}
    assert (await bridge.get("/topics", headers={"Accept": V2, **lower})).status == 200


@pytest.mark.parametrize(("dialect", "accept", "code"), DIALECTS)
async def test_basic_refusals_are_401_envelopes_with_the_challenge(
    bridge_settings: Settings,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    dialect: int,
    accept: str,
    code: int,
) -> None:
    bridge = await secured_bridge(bridge_settings, aiohttp_client, tmp_path, "basic")
    refusals = {
        "missing": {},
        "wrong password": basic("alice", "in:wonder"),
        "digest as password": basic("bob", sha256_entry("builder")),
        "unknown user": basic("mallory", "builder"),
        "not base64": {"Authorization": "Basic !!!"},
        "no colon": {"Authorization": "Basic " + base64.b64encode(b"alice").decode()},
        "other scheme": {"Authorization": "Bearer tok-plain"},
        "empty": {"Authorization": ""},
    }
    for case, headers in refusals.items():
        for path in ("/topics", "/", "/whoami"):
            response = await bridge.get(path, headers={"Accept": accept, **headers})
            body = await error_of(response, 401, code, dialect=dialect)
            assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE, case
            assert "wonder" not in body["message"], case


async def test_a_refused_produce_writes_nothing(
    bridge_settings: Settings,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
) -> None:
    bridge = await secured_bridge(bridge_settings, aiohttp_client, tmp_path, "basic")
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data=b'{"records": [{"value": "aGk="}]}',
        headers={"Content-Type": BINARY_V2, **basic("alice", "guess")},
    )
    await error_of(response, 401, 401)
    assert await end_offsets(topic) == {0: 0}


async def test_bearer_accepts_plain_and_sha256_tokens(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    bridge = await secured_bridge(bridge_settings, aiohttp_client, tmp_path, "bearer")
    for token in ("tok-plain", "tok-hashed"):
        headers = {"Accept": V2, "Authorization": f"Bearer {token}"}
        assert isinstance(await json_of(await bridge.get("/topics", headers=headers)), list)
        response = await bridge.get("/whoami", headers=headers)
        assert await json_of(response, content_type="application/json") == {
            "name": "ingest",
            "pw": None,
        }


@pytest.mark.parametrize(("dialect", "accept", "code"), DIALECTS)
async def test_bearer_refusals_are_401_envelopes_with_the_challenge(
    bridge_settings: Settings,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    dialect: int,
    accept: str,
    code: int,
) -> None:
    bridge = await secured_bridge(bridge_settings, aiohttp_client, tmp_path, "bearer")
    response = await bridge.get("/topics", headers={"Accept": accept})
    await error_of(response, 401, code, dialect=dialect)
    assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE
    refusals = {
        "wrong token": "Bearer tok-wrong",
        "digest as token": f"Bearer {sha256_entry('tok-hashed')}",
        "no token": "Bearer",
        "two tokens": "Bearer tok-plain tok-hashed",
    }
    for case, authorization in refusals.items():
        headers = {"Accept": accept, "Authorization": authorization}
        response = await bridge.get("/topics", headers=headers)
        await error_of(response, 401, code, dialect=dialect)
        assert response.headers["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE, case
    # Credentials of another scheme are no attempt at a token (RFC 6750 section 3.1).
    headers = {"Accept": accept, "Authorization": basic_credentials("ingest", "tok-plain")}
    response = await bridge.get("/topics", headers=headers)
    await error_of(response, 401, code, dialect=dialect)
    assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE


@pytest.mark.parametrize("auth_type", ["basic", "bearer"])
async def test_probes_and_metrics_need_no_credentials(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, tmp_path: Path, auth_type: str
) -> None:
    bridge = await secured_bridge(bridge_settings, aiohttp_client, tmp_path, auth_type)
    for probe in ("/healthy", "/ready", "/metrics", "/healthy/"):
        response = await bridge.get(probe)
        assert response.status == 200, (probe, await response.text())
        assert "WWW-Authenticate" not in response.headers
    # Everything else does, the bridge's own documents included.
    for path in ("/", "/openapi", "/brokers"):
        assert (await bridge.get(path)).status == 401, path


def test_bad_credential_files_stop_the_app_from_being_built(
    bridge_settings: Settings, tmp_path: Path
) -> None:
    malformed = tmp_path / "users"
    malformed.write_text("alice:a\nbob\n")
    with pytest.raises(AuthConfigError, match=r"line 2: expected user:password"):
        create_app(
            dataclasses.replace(
                bridge_settings, auth_type="basic", auth_basic_credentials_file=str(malformed)
            )
        )
    for auth_type, setting in [
        ("basic", "http.auth.basic.credentials.file"),
        ("bearer", "http.auth.bearer.tokens.file"),
    ]:
        with pytest.raises(AuthConfigError, match=f"http.auth.type={auth_type} needs {setting}"):
            create_app(dataclasses.replace(bridge_settings, auth_type=auth_type))
