"""Embedded formats of kafka-bridge, one module each, shipped as the `bridge_codecs` package.

Every codec, built in or third party, is found through the `kafka_bridge.codecs` entry-point
group and implements `bridge_codecs.base.Codec`.
"""
