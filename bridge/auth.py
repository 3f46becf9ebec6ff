"""HTTP authentication of API requests (`http.auth.type`): Basic or Bearer, checked by a
middleware against the credential files, which are read once when the app is built.

A request without valid credentials is answered 401 in its dialect's error envelope with a
`WWW-Authenticate` challenge. Probes and metrics (`/healthy`, `/ready`, `/metrics`) and CORS
preflights are exempt: kubelets, scrapers and browsers' preflights send no credentials.
The caller's identity is kept on the request as a `Principal`.
"""

from __future__ import annotations

import binascii
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.auth_files import (
    AuthConfigError,
    BasicCredentials,
    BearerTokens,
    load_basic_credentials,
    load_bearer_tokens,
)
from bridge.errors import BridgeError, ErrorKind
from bridge.settings import Settings

log = logging.getLogger(__name__)

REALM = "kafka-bridge"
#: Paths served without credentials (compared without a trailing slash).
EXEMPT_PATHS = frozenset({"/healthy", "/ready", "/metrics"})


@dataclass(frozen=True)
class Principal:
    """Who sent a request. `password` is kept for Basic only, so that the caller's identity
    can become their Kafka SASL identity (`http.auth.principal.propagation`)."""

    name: str
    password: str | None = field(default=None, repr=False)


PRINCIPAL = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal | None:
    """The authenticated caller; None when authentication is off or the path is exempt."""
    return request.get(PRINCIPAL)


class Authenticator(ABC):
    """One `Authorization` scheme: checks the header, or raises a 401 with its challenge."""

    scheme: str
    rejected_message = "Invalid credentials"

    @abstractmethod
    def principal(self, credentials: str) -> Principal | None:
        """The caller named by the credentials after the scheme; None if they are wrong.

        Raises ValueError, with a message for the client, when they cannot be parsed.
        """

    def authenticate(self, authorization: str | None) -> Principal:
        if authorization is None:
            raise self._unauthenticated(
                f"Authentication required: send {self.scheme} credentials in the "
                "Authorization header"
            )
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != self.scheme.lower():
            # Credentials of another scheme are no attempt at this one (RFC 6750 section 3.1).
            raise self._unauthenticated(
                f"Unsupported Authorization scheme: this bridge takes {self.scheme}"
            )
        try:
            principal = self.principal(credentials.strip())
        except ValueError as exc:
            raise self._unauthenticated(f"Malformed Authorization header: {exc}", True) from None
        if principal is None:
            raise self._unauthenticated(self.rejected_message, True)
        return principal

    def challenge(self, failed: bool) -> str:
        """The `WWW-Authenticate` value; `failed`: the request tried this scheme and failed."""
        return f'{self.scheme} realm="{REALM}"'

    def _unauthenticated(self, message: str, failed: bool = False) -> BridgeError:
        return BridgeError(
            ErrorKind.UNAUTHENTICATED,
            message,
            headers={"WWW-Authenticate": self.challenge(failed)},
        )


class BasicAuthenticator(Authenticator):
    scheme = "Basic"
    rejected_message = "Invalid user name or password"

    def __init__(self, credentials: BasicCredentials) -> None:
        self.credentials = credentials

    def principal(self, credentials: str) -> Principal | None:
        try:
            decoded = binascii.a2b_base64(credentials, strict_mode=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("expected Basic followed by base64 of user:password") from None
        user, colon, password = decoded.partition(":")
        if not colon:
            raise ValueError("the Basic credentials hold no colon between user and password")
        if not self.credentials.check(user, password):
            return None
        return Principal(user, password)

    def challenge(self, failed: bool) -> str:
        # RFC 7617: tells browsers to send the credentials as UTF-8.
        return f'Basic realm="{REALM}", charset="UTF-8"'


class BearerAuthenticator(Authenticator):
    scheme = "Bearer"
    rejected_message = "Invalid bearer token"

    def __init__(self, tokens: BearerTokens) -> None:
        self.tokens = tokens

    def principal(self, credentials: str) -> Principal | None:
        if not credentials or " " in credentials:
            raise ValueError("expected Bearer followed by one token")
        name = self.tokens.principal_for(credentials)
        return None if name is None else Principal(name)

    def challenge(self, failed: bool) -> str:
        # RFC 6750 section 3.1: a request that carried a token learns that it was the problem.
        error = ', error="invalid_token"' if failed else ""
        return f'Bearer realm="{REALM}"{error}'


def authenticator(settings: Settings) -> Authenticator | None:
    """The configured scheme with its credentials loaded; None when authentication is off.

    Raises AuthConfigError (a ConfigError) for a missing, unreadable or malformed file.
    """
    if settings.auth_type == "basic":
        if settings.auth_basic_credentials_file is None:
            raise AuthConfigError("http.auth.type=basic needs http.auth.basic.credentials.file")
        return BasicAuthenticator(load_basic_credentials(settings.auth_basic_credentials_file))
    if settings.auth_type == "bearer":
        if settings.auth_bearer_tokens_file is None:
            raise AuthConfigError("http.auth.type=bearer needs http.auth.bearer.tokens.file")
        return BearerAuthenticator(load_bearer_tokens(settings.auth_bearer_tokens_file))
    return None


def is_preflight(request: web.Request) -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def auth_middleware(settings: Settings) -> Middleware:
    """Checks every API request's credentials; reads the credential files now, once.

    Raises AuthConfigError when they cannot be read, so a bad file stops the bridge at
    start-up rather than refusing every request.
    """
    checker = authenticator(settings)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if checker is None or is_preflight(request):
            return await handler(request)
        if (request.path.rstrip("/") or "/") in EXEMPT_PATHS:
            return await handler(request)
        try:
            request[PRINCIPAL] = checker.authenticate(request.headers.get("Authorization"))
        except BridgeError as error:
            log.debug("%s %s: %s", request.method, request.path, error.message)
            raise
        return await handler(request)

    return authenticate
