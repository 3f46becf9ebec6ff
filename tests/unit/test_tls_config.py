"""The listener's TLS context from the http.tls.* settings, and every way they can be wrong."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from bridge.config import ConfigError
from bridge.settings import Settings
from bridge.tls import TLSConfigError, server_ssl_context


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def files(ca: trustme.CA, tmp_path: Path) -> dict[str, str]:
    server = ca.issue_cert("localhost")
    other = trustme.CA().issue_cert("localhost")
    paths = {
        "cert": tmp_path / "cert.pem",
        "key": tmp_path / "key.pem",
        "ca": tmp_path / "ca.pem",
        "other_key": tmp_path / "other-key.pem",
        "encrypted_key": tmp_path / "encrypted-key.pem",
        "not_pem": tmp_path / "not.pem",
    }
    server.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    server.private_key_pem.write_to_path(str(paths["key"]))
    ca.cert_pem.write_to_path(str(paths["ca"]))
    other.private_key_pem.write_to_path(str(paths["other_key"]))
    key = serialization.load_pem_private_key(server.private_key_pem.bytes(), password=None)
    paths["encrypted_key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    paths["not_pem"].write_text("this is not PEM\n")
    return {name: str(path) for name, path in paths.items()}


def test_no_certificate_is_plain_http() -> None:
    assert server_ssl_context(Settings()) is None


@pytest.mark.parametrize(
    ("client_auth", "verify_mode"),
    [("none", ssl.CERT_NONE), ("optional", ssl.CERT_OPTIONAL), ("required", ssl.CERT_REQUIRED)],
)
def test_server_context(files: dict[str, str], client_auth: str, verify_mode: int) -> None:
    context = server_ssl_context(
        Settings(
            tls_cert_file=files["cert"],
            tls_key_file=files["key"],
            tls_client_ca_file=files["ca"],
            tls_client_auth=client_auth,
        )
    )
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == verify_mode
    # Client certificates are checked against the configured CA only.
    expected_cas = 0 if client_auth == "none" else 1
    assert context.cert_store_stats()["x509_ca"] == expected_cas


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"key": "key"}, "http.tls.key.file is set but http.tls.cert.file is not"),
        ({"cert": "cert"}, "http.tls.cert.file is set but http.tls.key.file is not"),
        (
            {"cert": "cert", "key": "key", "auth": "required"},
            "http.tls.client.auth=required needs http.tls.client.ca.file",
        ),
        (
            {"cert": "cert", "key": "key", "auth": "optional"},
            "http.tls.client.auth=optional needs http.tls.client.ca.file",
        ),
        ({"ca": "ca", "auth": "required"}, "need HTTPS: set http.tls.cert.file"),
        ({"cert": "not_pem", "key": "key"}, "http.tls.cert.file=.*expected PEM"),
        ({"cert": "cert", "key": "not_pem"}, "http.tls.key.file=.*expected PEM"),
        ({"cert": "key", "key": "key"}, "http.tls.cert.file=.*CERTIFICATE"),
        (
            {"cert": "cert", "key": "key", "ca": "not_pem", "auth": "optional"},
            "http.tls.client.ca.file=.*expected PEM",
        ),
        ({"cert": "cert", "key": "other_key"}, "http.tls.cert.file=.*cannot load them"),
        ({"cert": "cert", "key": "encrypted_key"}, "the private key is encrypted"),
    ],
)
def test_bad_settings_are_config_errors(
    files: dict[str, str], settings: dict[str, str], message: str
) -> None:
    with pytest.raises(TLSConfigError, match=message) as raised:
        server_ssl_context(
            Settings(
                tls_cert_file=files.get(settings.get("cert", "")),
                tls_key_file=files.get(settings.get("key", "")),
                tls_client_ca_file=files.get(settings.get("ca", "")),
                tls_client_auth=settings.get("auth", "none"),
            )
        )
    assert isinstance(raised.value, ConfigError)  # the CLI's "configuration error", exit 2


def test_unreadable_file(files: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.pem")
    with pytest.raises(TLSConfigError, match=r"http.tls.cert.file=.*gone.pem: cannot read it"):
        server_ssl_context(Settings(tls_cert_file=missing, tls_key_file=files["key"]))
