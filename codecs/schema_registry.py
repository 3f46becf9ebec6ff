"""What the schema formats (avro, jsonschema) share: the Confluent-compatible schema registry
they register and look up schemas in, the subject naming strategies, and the Confluent wire
format (magic byte 0, a 4-byte big-endian schema id, then the payload).

Registrations and look-ups are cached by `python-schema-registry-client`, so a batch costs
at most one registry round trip per distinct schema, and the hot path none.

Settings (read from the codec context): `schema.registry.url`,
`schema.registry.subject.name.strategy` (`topic`, `record` or `topic_record`), and
`schema.registry.basic.auth.user.info` (`user:password`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import httpx
from jsonschema.exceptions import SchemaError
from schema_registry.client import AsyncSchemaRegistryClient
from schema_registry.client.errors import ClientError
from schema_registry.client.schema import BaseSchema

from bridge_codecs.base import CodecError, CodecUnavailableError

__all__ = ["SchemaRegistry", "frame", "schema_ids", "unframe"]

SchemaType = Literal["AVRO", "JSON"]

_MAGIC = 0
_HEADER = 5
_STRATEGIES = ("topic", "record", "topic_record")
_TIMEOUT_S = 10.0


def frame(schema_id: int, payload: bytes) -> bytes:
    """A payload in the Confluent wire format."""
    return b"\x00" + schema_id.to_bytes(4, "big") + payload


def unframe(data: bytes) -> tuple[int, bytes]:
    """The schema id and payload of a record in the Confluent wire format."""
    if len(data) < _HEADER or data[0] != _MAGIC:
        raise CodecError(
            "not in the schema registry's wire format (magic byte 0 and a 4-byte schema id)"
        )
    return int.from_bytes(data[1:_HEADER], "big"), data[_HEADER:]


def schema_ids(payloads: list[bytes]) -> set[int]:
    """The distinct schema ids that well-framed payloads name (others are left to decode)."""
    return {
        int.from_bytes(p[1:_HEADER], "big") for p in payloads if len(p) >= _HEADER and p[0] == 0
    }


class SchemaRegistry:
    def __init__(self, settings: Mapping[str, str], format_name: str) -> None:
        self._format = format_name
        self._url = settings.get("schema.registry.url")
        strategy = settings.get("schema.registry.subject.name.strategy", "topic").lower()
        if strategy not in _STRATEGIES:
            raise ValueError(
                f"schema.registry.subject.name.strategy={strategy!r}: expected one of "
                f"{', '.join(_STRATEGIES)}"
            )
        self.strategy = strategy
        self._client: AsyncSchemaRegistryClient | None = None
        if self._url:
            auth = None
            user_info = settings.get("schema.registry.basic.auth.user.info")
            if user_info:
                user, _, password = user_info.partition(":")
                auth = httpx.BasicAuth(user, password)
            self._client = AsyncSchemaRegistryClient(
                url=self._url, timeout=httpx.Timeout(_TIMEOUT_S), auth=auth
            )

    def _require(self) -> AsyncSchemaRegistryClient:
        if self._client is None:
            raise CodecUnavailableError(
                f"the {self._format} format needs a schema registry: set schema.registry.url "
                "(--schema-registry-url)"
            )
        return self._client

    def subject(self, topic: str, is_key: bool, record_name: str | None) -> str:
        """The subject a schema given inline is registered under."""
        suffix = "key" if is_key else "value"
        if self.strategy == "topic" or record_name is None:
            return f"{topic}-{suffix}"
        if self.strategy == "record":
            return record_name
        return f"{topic}-{record_name}"

    async def register(self, subject: str, schema: BaseSchema) -> int:
        """The id of `schema` under `subject`, registering it if it is new there."""
        client = self._require()
        try:
            return int(await client.register(subject, schema))
        except ClientError as exc:
            if exc.http_code is not None and 400 <= exc.http_code < 500:
                raise CodecError(
                    f"the schema registry refused the schema for subject {subject!r}: "
                    f"{exc.message} ({exc.server_traceback or exc.http_code})"
                ) from None
            raise self._unavailable(exc) from None
        except (TimeoutError, httpx.HTTPError, OSError) as exc:
            raise self._unavailable(exc) from None

    async def schema(self, schema_id: int) -> BaseSchema:
        """The schema registered with `schema_id`; CodecError when there is none."""
        client = self._require()
        try:
            found = await client.get_by_id(schema_id)
        except ClientError as exc:
            raise self._unavailable(exc) from None
        except (TimeoutError, httpx.HTTPError, OSError) as exc:
            raise self._unavailable(exc) from None
        except SchemaError:
            raise  # a JSON Schema the client library's draft-7 check refused: the caller's call
        except Exception as exc:  # the client library parses the schema; its errors vary
            raise CodecError(
                f"schema id {schema_id} from the schema registry could not be parsed: {exc}"
            ) from None
        if found is None:
            raise CodecError(f"schema id {schema_id} is not known to the schema registry")
        return found

    def _unavailable(self, exc: BaseException) -> CodecUnavailableError:
        return CodecUnavailableError(f"the schema registry at {self._url} failed: {exc!r}")
