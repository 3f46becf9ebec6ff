"""HTTPS on the API listener: the real app on a TLS site with `server_ssl_context`, and
clients that trust its CA or not, and that present a client certificate or not."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from bridge.app import create_app
from bridge.settings import Settings
from bridge.tls import server_ssl_context
from tests.integration.helpers import V2, json_of


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_settings(bridge_settings: Settings, ca: trustme.CA, tmp_path: Path) -> Settings:
    server = ca.issue_cert("localhost", "127.0.0.1")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    server.private_key_and_cert_chain_pem.write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return dataclasses.replace(
        bridge_settings,
        tls_cert_file=str(cert),
        tls_key_file=str(key),
        tls_client_ca_file=str(ca_file),
    )


@asynccontextmanager
async def https_bridge(settings: Settings) -> AsyncIterator[str]:
    """The bridge on an HTTPS site on a free loopback port; yields its base URL."""
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(settings))
        await site.start()
        port = runner.addresses[0][1]
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def client_context(
    trusted: trustme.CA | None, client_cert: trustme.LeafCert | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if trusted is not None:
        trusted.configure_trust(context)
    if client_cert is not None:
        client_cert.configure_cert(context)
    return context


async def get_topics(url: str, context: ssl.SSLContext | bool) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        response = await session.get(f"{url}/topics", headers={"Accept": V2}, ssl=context)
        await response.read()
        return response


async def assert_handshake_refused(url: str, context: ssl.SSLContext) -> None:
    """The server refuses the client's certificate (or its absence): in a TLS 1.2 handshake,
    the client's connect fails; in TLS 1.3 the client's handshake ends before the server
    has checked, and the server closes the connection instead of answering."""
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(aiohttp.ClientConnectorError):
        await get_topics(url, context)
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await get_topics(url, context)


async def test_https_answers_clients_that_trust_its_ca(
    tls_settings: Settings, ca: trustme.CA
) -> None:
    async with https_bridge(tls_settings) as url:
        response = await get_topics(url, client_context(ca))
        assert isinstance(await json_of(response), list)
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await get_topics(url, client_context(None))
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await get_topics(url, client_context(trustme.CA()))
        # Plain HTTP on the TLS port gets no answer from the API.
        with pytest.raises(aiohttp.ClientError):
            await get_topics(url.replace("https:", "http:"), False)


async def test_required_client_certificate(tls_settings: Settings, ca: trustme.CA) -> None:
    settings = dataclasses.replace(tls_settings, tls_client_auth="required")
    async with https_bridge(settings) as url:
        client = ca.issue_cert("client@example.com")
        response = await get_topics(url, client_context(ca, client))
        assert isinstance(await json_of(response), list)
        await assert_handshake_refused(url, client_context(ca))
        stranger = trustme.CA().issue_cert("client@example.com")
        await assert_handshake_refused(url, client_context(ca, stranger))


async def test_optional_client_certificate_is_checked_when_given(
    tls_settings: Settings, ca: trustme.CA
) -> None:
    settings = dataclasses.replace(tls_settings, tls_client_auth="optional")
    async with https_bridge(settings) as url:
        for client in (ca.issue_cert("client@example.com"), None):
            response = await get_topics(url, client_context(ca, client))
            assert isinstance(await json_of(response), list)
        stranger = trustme.CA().issue_cert("client@example.com")
        await assert_handshake_refused(url, client_context(ca, stranger))


async def test_tls_1_2_clients_are_served(tls_settings: Settings, ca: trustme.CA) -> None:
    async with https_bridge(tls_settings) as url:
        tls_1_2 = client_context(ca)
        tls_1_2.maximum_version = ssl.TLSVersion.TLSv1_2
        assert isinstance(await json_of(await get_topics(url, tls_1_2)), list)
