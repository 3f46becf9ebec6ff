"""Reading Java-style `.properties` text, the format of the bridge's configuration file."""

from __future__ import annotations

import re


class PropertiesSyntaxError(ValueError):
    """A line that is not a property; the message names the origin and line number."""


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPED_CHARS = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        return _ESCAPED_CHARS.get(code, code)

    return _ESCAPE.sub(replace, text)


def _continues(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def parse_properties(text: str, origin: str) -> list[tuple[str, str, str]]:
    """(key, value, where) for each property of `text`, in Java `.properties` syntax.

    `key=value` or `key: value`, `#`/`!` comments, a trailing backslash continues a line (as
    in pasted `sasl.jaas.config` values), backslash escapes.
    """
    entries: list[tuple[str, str, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index].lstrip()
        index += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and index < len(lines):
            line = line[:-1] + lines[index].lstrip()
            index += 1
        if _continues(line):
            line = line[:-1]
        separator = re.search(r"(?<!\\)(?:\\\\)*[=:]", line)
        if separator is None:
            raise PropertiesSyntaxError(
                f"{origin} line {number}: expected 'key=value' or 'key: value'"
            )
        cut = separator.end() - 1
        key = _unescape(line[:cut].strip())
        if not key:
            raise PropertiesSyntaxError(f"{origin} line {number}: missing key before {line[cut]!r}")
        entries.append((key, _unescape(line[cut + 1 :].strip()), f"{origin} line {number}"))
    return entries
