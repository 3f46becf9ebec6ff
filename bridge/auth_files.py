"""The credential files of HTTP authentication: their format, and checking a secret against them.

Both files hold one `name:secret` entry a line (`user:password` for Basic, `principal:token`
for Bearer); blank lines and lines starting with `#` are skipped. A secret is written as it
is, or as `sha256:<64 hex digits>`, the SHA-256 of its UTF-8 bytes. Either way only a
digest is kept in memory; passwords are checked with `hmac.compare_digest` of digests, so
the time a check takes says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from bridge.config import ConfigError

_SHA256 = re.compile(r"sha256:([0-9a-fA-F]{64})")
#: Compared against when the user is unknown, so that takes as long as a wrong password.
_NO_DIGEST = hashlib.sha256(b"\0unknown user\0").digest()


class AuthConfigError(ConfigError):
    """A credential file that is missing, unreadable or has a malformed line."""


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _stored_digest(text: str) -> bytes:
    match = _SHA256.fullmatch(text)
    if match:
        return bytes.fromhex(match.group(1))
    if text.startswith("sha256:"):
        raise ValueError("a sha256: secret needs exactly 64 hex digits")
    return digest(text)


def _entries(path: str, setting: str, shape: str) -> Iterator[tuple[int, str, bytes]]:
    """(line number, name, secret digest) of each entry; AuthConfigError on a bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthConfigError(f"{setting}={path}: cannot read it: {exc}") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # The name ends at the first colon: a Basic user name cannot hold one (RFC 7617),
        # a password or token may.
        name, colon, secret = line.partition(":")
        problem = None
        if not colon or not name or not secret:
            problem = f"expected {shape}"
        else:
            try:
                yield number, name, _stored_digest(secret)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            # The line itself is left out of the message: it may hold a secret.
            raise AuthConfigError(f"{setting}={path}: line {number}: {problem}")


@dataclass(frozen=True)
class BasicCredentials:
    """User name -> password digest, from `http.auth.basic.credentials.file`."""

    users: Mapping[str, bytes]

    def check(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        matches = hmac.compare_digest(digest(password), expected or _NO_DIGEST)
        return matches and expected is not None


@dataclass(frozen=True)
class BearerTokens:
    """Token digest -> principal name, from `http.auth.bearer.tokens.file`."""

    principals: Mapping[bytes, str]

    def principal_for(self, token: str) -> str | None:
        # Looked up by digest: whatever the look-up's timing could tell is about the digest
        # of the guess, which brings an attacker no closer to a token.
        return self.principals.get(digest(token))


def load_basic_credentials(path: str) -> BasicCredentials:
    setting = "http.auth.basic.credentials.file"
    users: dict[str, bytes] = {}
    for number, user, password in _entries(path, setting, "user:password"):
        if user in users:
            raise AuthConfigError(f"{setting}={path}: line {number}: user {user!r} again")
        users[user] = password
    if not users:
        raise AuthConfigError(f"{setting}={path}: no credentials in it")
    return BasicCredentials(MappingProxyType(users))


def load_bearer_tokens(path: str) -> BearerTokens:
    """Tokens; a principal may have several (to rotate them), a token one principal."""
    setting = "http.auth.bearer.tokens.file"
    principals: dict[bytes, str] = {}
    for number, principal, token in _entries(path, setting, "principal:token"):
        if token in principals:
            raise AuthConfigError(f"{setting}={path}: line {number}: a token given before")
        principals[token] = principal
    if not principals:
        raise AuthConfigError(f"{setting}={path}: no tokens in it")
    return BearerTokens(MappingProxyType(principals))
