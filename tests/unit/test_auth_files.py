"""The credential files of HTTP authentication: formats, sha256 entries, and config errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bridge.auth_files import (
    AuthConfigError,
    load_basic_credentials,
    load_bearer_tokens,
)
from bridge.config import ConfigError


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "credentials"
    path.write_text(text, encoding="utf-8")
    return str(path)


def sha256(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def test_basic_plain_and_sha256_passwords_comments_and_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# operators\n"
        "\n"
        "alice:wonder:land\n"  # the password holds a colon
        f"bob:{sha256('builder')}\n"
        # Upper-case hex digits, and spaces around the line, are fine.
        f"  carol:sha256:{hashlib.sha256('ünïcode'.encode()).hexdigest().upper()}  \n",
    )
    credentials = load_basic_credentials(path)
    assert credentials.check("alice", "wonder:land")
    assert not credentials.check("alice", "wonder")
    assert credentials.check("bob", "builder")
    assert not credentials.check("bob", sha256("builder"))  # the digest is not the password
    assert credentials.check("carol", "ünïcode")
    assert not credentials.check("mallory", "builder")
    assert not credentials.check("", "")


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("alice:a\nno colon here\n", 2, "expected user:password"),
        ("# c\n:password\n", 2, "expected user:password"),
        ("alice:\n", 1, "expected user:password"),
        ("alice:sha256:abcd\n", 1, "64 hex digits"),
        (f"alice:{sha256('x')[:-1]}z\n", 1, "64 hex digits"),
        ("alice:a\n\nalice:b\n", 3, "user 'alice' again"),
    ],
)
def test_basic_malformed_line_names_its_number_but_not_the_secret(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AuthConfigError) as raised:
        load_basic_credentials(path)
    message = str(raised.value)
    assert f"http.auth.basic.credentials.file={path}: line {line}: " in message
    assert problem in message
    assert isinstance(raised.value, ConfigError)  # the CLI's "configuration error", exit 2


def test_error_messages_leave_the_secrets_out(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError) as raised:
        load_basic_credentials(write(tmp_path, "alice:sha256:hunter2hunter2\n"))
    assert "hunter2" not in str(raised.value)
    with pytest.raises(AuthConfigError) as raised:
        load_bearer_tokens(write(tmp_path, "a:s3cr3t-token\nb:s3cr3t-token\n"))
    assert "s3cr3t" not in str(raised.value)


def test_basic_file_without_credentials_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match="no credentials"):
        load_basic_credentials(write(tmp_path, "# nobody yet\n\n"))
    with pytest.raises(AuthConfigError, match="cannot read it"):
        load_basic_credentials(str(tmp_path / "missing"))


def test_bearer_tokens_plain_and_sha256_several_per_principal(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"ingest:tok-1\n# rotating\ningest:{sha256('tok-2')}\nreporting:tok:3\n",
    )
    tokens = load_bearer_tokens(path)
    assert tokens.principal_for("tok-1") == "ingest"
    assert tokens.principal_for("tok-2") == "ingest"
    assert tokens.principal_for("tok:3") == "reporting"
    assert tokens.principal_for("tok-4") is None
    assert tokens.principal_for(sha256("tok-2")) is None


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("ingest\n", 1, "expected principal:token"),
        ("ingest:a\nreporting:a\n", 2, "a token given before"),
        (f"ingest:a\nreporting:{sha256('a')}\n", 2, "a token given before"),
        ("ingest:sha256:\n", 1, "64 hex digits"),
    ],
)
def test_bearer_malformed_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AuthConfigError) as raised:
        load_bearer_tokens(path)
    message = str(raised.value)
    assert f"http.auth.bearer.tokens.file={path}: line {line}: " in message
    assert problem in message


def test_bearer_file_without_tokens(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match="no tokens"):
        load_bearer_tokens(write(tmp_path, "\n# none\n"))
