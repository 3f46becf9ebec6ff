"""kafka-bridge: an HTTP sidecar for Apache Kafka (Confluent REST v1 and Kafka Bridge v2 APIs)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kafka-bridge")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
