"""envoy-mqtt-bridge: Enphase Envoy / IQ Gateway local API to MQTT, with Home Assistant discovery."""

__version__ = "0.1.0"
