"""TLS of the HTTP listener: the server's `ssl.SSLContext` from the `http.tls.*` settings.

Every way the files can be wrong (one of certificate and key without the other, client
authentication without a CA, a file that is not the PEM it should be, a key that does not
match its certificate) is a `TLSConfigError` naming the setting, raised before the bridge
listens or connects to Kafka.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from bridge.config import ConfigError
from bridge.settings import Settings

log = logging.getLogger(__name__)

_CERT, _KEY = "http.tls.cert.file", "http.tls.key.file"
_CLIENT_CA, _CLIENT_AUTH = "http.tls.client.ca.file", "http.tls.client.auth"

_VERIFY_MODES = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


class TLSConfigError(ConfigError):
    """The TLS settings or the files they name cannot make a server context."""


def server_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The API listener's TLS context, or None to serve plain HTTP (no certificate set)."""
    cert, key, client_ca = (
        settings.tls_cert_file,
        settings.tls_key_file,
        settings.tls_client_ca_file,
    )
    client_auth = settings.tls_client_auth
    if cert is None and key is None:
        if client_ca is not None or client_auth != "none":
            raise TLSConfigError(
                f"{_CLIENT_AUTH} and {_CLIENT_CA} need HTTPS: set {_CERT} and {_KEY} as well"
            )
        return None
    if cert is None:
        raise TLSConfigError(f"{_KEY} is set but {_CERT} is not: HTTPS needs both")
    if key is None:
        raise TLSConfigError(f"{_CERT} is set but {_KEY} is not: HTTPS needs both")
    if client_auth != "none" and client_ca is None:
        raise TLSConfigError(
            f"{_CLIENT_AUTH}={client_auth} needs {_CLIENT_CA}, the CA bundle that client "
            "certificates are checked against"
        )

    # PROTOCOL_TLS_SERVER, not create_default_context(): client certificates are checked
    # against the configured CA only, never the system's trust store.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _check_pem(cert, _CERT, "CERTIFICATE")
    _check_pem(key, _KEY, "PRIVATE KEY")
    try:
        context.load_cert_chain(cert, key, password=_encrypted_key(key))
    except (ssl.SSLError, OSError) as exc:
        raise TLSConfigError(f"{_CERT}={cert}, {_KEY}={key}: cannot load them: {exc}") from None
    if client_ca is not None and client_auth != "none":
        _check_pem(client_ca, _CLIENT_CA, "CERTIFICATE")
        try:
            context.load_verify_locations(cafile=client_ca)
        except (ssl.SSLError, OSError) as exc:
            raise TLSConfigError(f"{_CLIENT_CA}={client_ca}: cannot load it: {exc}") from None
    elif client_ca is not None:
        log.warning(
            "%s is set but %s=none: client certificates are not asked for", _CLIENT_CA, _CLIENT_AUTH
        )
    context.verify_mode = _VERIFY_MODES[client_auth]
    return context


def _check_pem(path: str, setting: str, label: str) -> None:
    """OpenSSL reports a wrong file as "PEM lib" without saying which; say it here."""
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise TLSConfigError(f"{setting}={path}: cannot read it: {exc.strerror}") from None
    if f"-----BEGIN {label}-----".encode() not in text and not (
        label == "PRIVATE KEY" and b"PRIVATE KEY-----" in text
    ):
        raise TLSConfigError(f"{setting}={path}: expected PEM with a {label} block")


def _encrypted_key(path: str) -> Callable[[], str]:
    """A password callback: OpenSSL would otherwise prompt on the terminal for one."""

    def refuse() -> NoReturn:
        raise TLSConfigError(
            f"{_KEY}={path}: the private key is encrypted; give the bridge an unencrypted "
            "key (for example `openssl pkey -in encrypted.pem -out key.pem`) with file "
            "permissions that keep it private"
        )

    return refuse
