"""The API dialects by version: v1 (Confluent REST Proxy v1) and v2 (Kafka Bridge)."""

from __future__ import annotations

from types import MappingProxyType

from bridge.dialects.base import Dialect
from bridge.dialects.v1 import V1Dialect
from bridge.dialects.v2 import V2Dialect

DIALECTS: MappingProxyType[int, Dialect] = MappingProxyType({1: V1Dialect(), 2: V2Dialect()})

__all__ = ["DIALECTS", "Dialect"]
