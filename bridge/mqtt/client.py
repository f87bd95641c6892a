"""The one paho client, as the publisher configures it: last will, credentials, TLS, reconnect
pacing, a bounded queue, callbacks that never end paho's network thread, and no Nagle delay."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from contextlib import suppress

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bridge.config import MqttConfig
from bridge.mqtt.guard import Guard

RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 120  # paho doubles the delay between these


def make_client(cfg: MqttConfig, will: tuple[str, str], guard: Guard, **callbacks: Callable[..., None]) -> mqtt.Client:
    """A client whose last will publishes `will` (topic, payload), with `callbacks` by paho's
    names (`on_connect=...`), each behind `guard`: paho lets an exception end its thread."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.client_id, clean_session=True)
    client.will_set(*will, qos=1, retain=True)
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password)
    if cfg.tls:
        client.tls_set(ca_certs=cfg.ca_file, certfile=cfg.certfile, keyfile=cfg.keyfile, cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_queued_messages_set(cfg.max_queued_messages)
    for name, callback in callbacks.items():
        setattr(client, name, guard.wrap(name, callback))
    return client


def send_at_once(sock: object) -> None:
    """TCP_NODELAY on the broker connection: with Nagle's algorithm a message that follows
    another (the state after the live document) waits for the broker's acknowledgement of the
    first; paho does not set it. Not every transport has it (a websocket wrapper, a Unix socket)."""
    setsockopt = getattr(sock, "setsockopt", None)
    if setsockopt is not None:
        with suppress(OSError):
            setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
