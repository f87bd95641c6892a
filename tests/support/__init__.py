"""Helpers shared by the tests (and the benchmarks): the real Mosquitto runner and subscribers
(`mqtt`), the shared gateway captures (`captures`), and the Home Assistant harness
(`homeassistant`)."""
