"""The Kafka layer: the shared producer, cached cluster metadata, offset look-ups.

Everything here speaks aiokafka and bridge domain types; nothing here knows HTTP.
"""
