"""JSON Schemas of the request bodies: one document per dialect (`v1.json`, `v2.json`) and
one for the consumer bodies that both dialects share (`consumer.json`).

Each document keeps its body schemas under `$defs`; `bridge.validation` compiles them.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import orjson


def load(dialect: str) -> dict[str, Any]:
    """The schema document named `dialect` (`v1`, `v2` or `consumer`)."""
    document: dict[str, Any] = orjson.loads(
        files(__name__).joinpath(f"{dialect}.json").read_bytes()
    )
    return document
