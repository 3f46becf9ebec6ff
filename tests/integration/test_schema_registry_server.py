"""The tests' schema registry behaves as a Confluent registry does for what the bridge uses:
checked through the same client library the bridge uses, and raw HTTP for the error codes."""

from __future__ import annotations

import uuid

import aiohttp
from schema_registry.client import AsyncSchemaRegistryClient
from schema_registry.client.schema import AvroSchema, JsonSchema

USER = '{"type": "record", "name": "User", "fields": [{"name": "id", "type": "int"}]}'


async def test_ids_versions_and_lookups(schema_registry_url: str) -> None:
    client = AsyncSchemaRegistryClient(url=schema_registry_url)
    first, second = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    user_id = await client.register(first, AvroSchema(USER))
    # One id per schema, whatever the subject; a fresh client gets the same from the server.
    assert await client.register(second, AvroSchema(USER)) == user_id
    assert (
        await AsyncSchemaRegistryClient(url=schema_registry_url).register(first, AvroSchema(USER))
        == user_id
    )
    json_id = await client.register(first, JsonSchema('{"type": "object"}'))
    assert json_id != user_id
    assert await client.get_versions(first) == [1, 2]
    latest = await client.get_schema(first)
    assert latest is not None
    assert (latest.schema_id, latest.version) == (json_id, 2)
    fetched = await AsyncSchemaRegistryClient(url=schema_registry_url).get_by_id(json_id)
    assert fetched is not None
    assert fetched.schema_type == "JSON"
    assert {first, second} <= set(await client.get_subjects())


async def test_confluent_error_codes(schema_registry_url: str) -> None:
    subject = f"e-{uuid.uuid4().hex}"
    async with aiohttp.ClientSession(schema_registry_url) as http:
        async with http.post(
            f"/subjects/{subject}/versions", json={"schema": '{"type": "nope"}'}
        ) as response:
            assert response.status == 422
            assert (await response.json())["error_code"] == 42201
        async with http.get(f"/subjects/{subject}/versions/latest") as response:
            assert response.status == 404
            assert (await response.json())["error_code"] == 40401
        async with http.get("/schemas/ids/987654") as response:
            assert response.status == 404
            assert (await response.json())["error_code"] == 40403
        async with http.post(f"/subjects/{subject}/versions", json={"schema": USER}) as response:
            assert response.status == 200
        async with http.get(f"/subjects/{subject}/versions/2") as response:
            assert response.status == 404
            assert (await response.json())["error_code"] == 40402
        async with http.post(
            f"/subjects/{subject}", json={"schema": '{"type": "string"}'}
        ) as response:
            assert response.status == 404
            assert (await response.json())["error_code"] == 40403
