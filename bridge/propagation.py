"""Principal propagation per request (`http.auth.principal.propagation`): the Kafka identity a
request's clients use, the producer it produces with, and who owns a consumer instance.

With propagation off, every answer here is None: requests use the bridge's own clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web

from bridge.auth import REALM, principal_of
from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.identity_clients import KafkaIdentity
from bridge.kafka.producer import SharedProducer
from bridge.services import SERVICES


def kafka_identity(request: web.Request) -> KafkaIdentity | None:
    """The caller's Kafka SASL identity; None when propagation is off."""
    if not request.app[SERVICES].settings.auth_principal_propagation:
        return None
    principal = principal_of(request)
    if principal is None or principal.password is None:
        # Start-up insists on Basic authentication, so only an exempt path gets here.
        raise BridgeError(
            ErrorKind.UNAUTHENTICATED,
            "This request needs Basic credentials: they become its Kafka identity",
        )
    return KafkaIdentity(principal.name, principal.password)


@contextmanager
def challenged() -> Iterator[None]:
    """Kafka refusing the caller's login is a 401 like the bridge's own: with the challenge."""
    try:
        yield
    except BridgeError as error:
        if error.kind is not ErrorKind.UNAUTHENTICATED or error.headers:
            raise
        challenge = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
        raise BridgeError(error.kind, error.message, error.details, headers=challenge) from None


def instance_owner(request: web.Request) -> str | None:
    """Who a consumer instance created by this request belongs to; None without propagation."""
    identity = kafka_identity(request)
    return None if identity is None else identity.username


@asynccontextmanager
async def request_producer(request: web.Request) -> AsyncIterator[SharedProducer | None]:
    """The caller's own producer, held while the request produces; None: the shared one.

    Kafka refusing the caller's credentials answers 401 here, before anything is produced.
    """
    identity = kafka_identity(request)
    producers = request.app[SERVICES].identity_producers
    if identity is None or producers is None:
        yield None
        return
    with challenged():
        async with producers.lease(identity) as producer:
            yield producer
