"""The one paho client: last will, (re)connect, Home Assistant birth, retained store.

Every message the bridge sends is retained telemetry, so the publisher keeps the latest payload
of each topic. While the broker is away nothing is queued in paho (its queue would only hold
stale values); on every (re)connect it sends `online`, every discovery config, then every state.
That makes the queue bounded by the number of topics, and nothing is lost: the latest value of
every topic reaches the broker after recovery. Such bursts (the replay, discovery) go out in
slices through bridge/mqtt/pacer.py, so a fresh state never waits behind them. What the connection does is reported by
bridge/mqtt/monitor.py, once per transition; what the broker still holds of the bridge's
discovery configs at start is read back by bridge/mqtt/readback.py.

Nothing another client publishes can stop it or make it lie: every callback and timer goes
through bridge/mqtt/guard.py, a silent broker is cut off by bridge/mqtt/connack.py, birth
messages are answered by bridge/mqtt/birth.py at most once per interval, and the bridge's own
topics, overwritten by someone else, are put back by bridge/mqtt/restore.py.
"""

from __future__ import annotations

import logging
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from bridge import identifiers
from bridge.config import HomeAssistantConfig, MqttConfig
from bridge.mqtt.acks import Acks
from bridge.mqtt.birth import BirthLimiter
from bridge.mqtt.client import RECONNECT_MAX_S, RECONNECT_MIN_S, make_client, send_at_once
from bridge.mqtt.connack import CONNACK_TIMEOUT_S, ConnackWatch
from bridge.mqtt.guard import Guard
from bridge.mqtt.monitor import FLAP_RECONNECT_MIN_S, ConnectionMonitor
from bridge.mqtt.pacer import Pacer
from bridge.mqtt.readback import READBACK_WINDOW_S, Readback
from bridge.mqtt.restore import RESTORE_MIN_INTERVAL_S, Hooks, Restorer
from bridge.mqtt.routes import Handler, Routes
from bridge.network_errors import describe_transport_error

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"
# Home Assistant asks devices to wait a little before answering its birth message, so a
# restart of HA does not meet every bridge of the house at the same instant.
BIRTH_DELAY_MAX_S = 5.0


class Publisher:
    def __init__(
        self,
        cfg: MqttConfig,
        ha: HomeAssistantConfig,
        *,
        birth_delay_max: float = BIRTH_DELAY_MAX_S,
        rng: Callable[[float, float], float] = random.uniform,
        clock: Callable[[], float] = time.monotonic,
        readback_window: float = READBACK_WINDOW_S,
        connack_timeout: float = CONNACK_TIMEOUT_S,
        restore_interval: float = RESTORE_MIN_INTERVAL_S,
    ) -> None:
        self.cfg, self.ha = cfg, ha
        self.availability_topic = cfg.availability_topic  # this instance's: cfg.bridge_topic("availability")
        self._previous_cleared = False  # the topic of versions before instance ids: emptied once
        self._clock = clock
        # Serialises "store + send" against the reconnect replay, so a message is neither
        # lost nor sent twice when a state arrives while on_connect replays the store.
        self._send_lock = threading.RLock()
        self._discovery: dict[str, str] = {}  # topic -> payload ("" = removal, sent once)
        self._state: dict[str, str] = {}
        # Change-only publishing: what was last sent per topic (its comparison key) and when.
        self._sent: dict[str, tuple[str, float]] = {}
        self._owners: dict[str, set[str]] = {}  # owner -> discovery topics it announced
        self._refused_topics = identifiers.Refusals()  # topics outside the rule, as logged
        self._acks = Acks()
        self._connected = threading.Event()
        self.guard = Guard(clock)  # the edge of every callback and timer
        # Bursts (discovery, the replay) a slice at a time; states and grid status overtake them.
        self._pacer = Pacer(self._send_slice, lambda run: self.guard.wrap("the paced sending", run))
        # Discovery waits for the start-up read-back of the bridge's retained configs.
        self._readback = Readback(
            ha.prefix,
            (self.availability_topic, cfg.previous_availability_topic),  # an upgrade updates its configs
            readback_window,
            enabled=ha.discovery,
            lock=self._send_lock,
        )
        self.monitor = ConnectionMonitor(f"{cfg.host}:{cfg.port}", cfg.client_id, clock)
        self._connack = ConnackWatch(connack_timeout, self.monitor.unanswered, self.guard)
        self._births = BirthLimiter(
            self._republish_all, ha.birth_republish_min_interval, birth_delay_max, rng, clock, self.guard
        )
        subscribe = self.guard.wrap("a subscription", lambda topic_filter: self._client.subscribe(topic_filter, qos=1))
        hooks = Hooks(expected=self._held, resend=self._restore, subscribe=subscribe)
        self._restorer = Restorer(cfg.base_topic, ha.prefix, hooks, restore_interval, clock, self.guard)
        self.stats = {
            "published": 0,
            "unchanged": 0,
            "skipped_offline": 0,
            "not_queued": 0,
            "events": 0,  # messages that are news once: sent, or dropped (no broker, paho's queue full)
            "events_dropped": 0,
        }
        self._routes = Routes(self._restorer.base_filter)  # commands and requests, each handled once
        self._client = make_client(
            cfg,
            (self.availability_topic, OFFLINE),
            self.guard,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_publish=lambda client, userdata, mid, *_: self._acks.acked(mid),
            on_message=self._on_message,
            on_connect_fail=self._on_connect_fail,
            on_socket_open=self._socket_opened,
        )

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background: a broker that is down at start is retried, never fatal."""
        log.info("MQTT: connecting to %s:%d as %s", self.cfg.host, self.cfg.port, self.cfg.client_id)
        self.monitor.starting()
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_discovery_ready(self, timeout: float) -> bool:
        """True once the start-up read-back of retained discovery configs is over."""
        return self._readback.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def held_topics(self) -> int:
        """Topics whose latest value the publisher keeps for the next (re)connect."""
        return len(self._discovery) + len(self._state)

    @property
    def queued(self) -> int:
        """Messages waiting in paho (bounded by mqtt.max_queued_messages)."""
        return len(getattr(self._client, "_out_messages", ()))

    @property
    def bursting(self) -> bool:
        """A burst (the read-back's configs, a replay) still has messages waiting for their slice."""
        return not self._readback.over or self._pacer.pending > 0

    def tick(self) -> None:
        """Called every second or so by the main loop: reminders, end of a flapping episode."""
        if self.monitor.tick(self.held_topics):
            self._client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)

    def stop(self, timeout: float = 3.0) -> None:
        """Say `offline` (the will covers crashes only), flush within `timeout`, disconnect."""
        self._births.cancel()
        self._restorer.stop()  # the `offline` below is this bridge's own, not to be put right
        self._connack.answered()
        if self.connected and self._readback.overdue():
            self._end_readback()  # its timer is late (a loaded machine): the configs must still go out
        self._pacer.stop()
        with self._send_lock:  # waits for a slice still sending, so the flush covers it
            connected = self.connected
            if connected:
                self._send_slice(None)  # what is still queued goes now, before `offline`
                self._acks.track(self._client.publish(self.availability_topic, OFFLINE, qos=1, retain=True))
        if connected:
            self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    # --- publishing ---------------------------------------------------------------------

    def publish_state(self, topic: str, payload: str, compare: str | None = None) -> None:
        """Record a retained state message and send it if it changed.

        `compare` is what counts as "changed" (default: the payload itself), so a caller can
        leave out fields that move on every poll, like a timestamp. An unchanged message is
        still sent once every `republish_interval`, so late subscribers and expiring HA
        entities keep seeing it; quiet nights cost almost nothing.
        """
        key = payload if compare is None else compare
        with self._send_lock:
            if not self._own_topic(topic):
                return
            self._state[topic] = payload
            last = self._sent.get(topic)
            now = self._clock()
            if self.connected and last and last[0] == key and now - last[1] < self.cfg.republish_interval:
                self.stats["unchanged"] += 1
                return
            if self._send(topic, payload) is not None:
                self._sent[topic] = (key, now)
                self._pacer.discard(topic)  # a replay still queued has nothing newer to send

    def subscribe_commands(self, filters: tuple[str, ...], handler: Handler) -> None:
        """Hand each message on `filters` to `handler` once (behind the guard); may be called
        for several handlers. Filters below the base topic come on its subscription."""
        own = self._routes.add(filters, self.guard.wrap("a command", handler))
        for topic_filter in own if self.connected else ():
            self._client.subscribe(topic_filter, qos=1)

    def publish_event(self, topic: str, payload: str) -> None:
        """A message that is news once (a command's result): QoS 1, not retained, never kept for
        the replay after a reconnect; dropped while the broker is away."""
        with self._send_lock:
            if not self._own_topic(topic):
                return
            info = self._client.publish(topic, payload, qos=1, retain=False) if self.connected else None
            if info is None or info.rc != mqtt.MQTT_ERR_SUCCESS:
                self.stats["events_dropped"] += 1
                return
            self.stats["events"] += 1
            self._acks.track(info)

    def sync_discovery(self, owner: str, configs: dict[str, str]) -> None:
        """Announce `owner`'s entities: new or changed configs are sent, vanished ones removed.

        Identical configs are not sent again: Home Assistant would reload the entity each time.
        That includes the configs the broker still held from the bridge's previous run (read
        back at start); and that run's configs of `owner` not produced any more are removed.
        Until the read-back is over, configs are only stored: it sends them.
        """
        with self._send_lock:
            configs = {topic: config for topic, config in configs.items() if self._own_topic(topic)}
            self._restorer.watch(configs)  # someone else's change to them is put right
            removed = self._owners.get(owner, set()) - configs.keys()
            self._owners[owner] = set(configs)
            changed = {t: p for t, p in configs.items() if self._discovery.get(t) != p}
            changed.update(dict.fromkeys(removed, ""))
            if not self._readback.over:
                self._discovery.update(changed)
                return
            already, vanished = self._readback.claim(owner, configs)
            for topic in already:
                changed.pop(topic, None)  # on the broker as it is
            self._discovery.update(already)
            changed.update(dict.fromkeys(vanished, ""))
            self._discovery.update(changed)
            for topic, payload in changed.items():
                if payload == "":
                    log.info("Home Assistant: removing vanished entity %s", topic)
            self._pacer.add(changed)

    def _own_topic(self, topic: str) -> bool:
        """The last check of bridge/identifiers.py's rule: a topic that would kill paho's thread
        (a wildcard) or the connection (a control character) is neither kept for the replay
        after a reconnect nor sent. Logged once per topic; under the send lock."""
        why = identifiers.topic_problem(topic)
        if why is not None and self._refused_topics.first_time(topic):
            log.error("MQTT: not publishing to %s: the topic %s", identifiers.show(topic, 200), why)
        return why is None

    def flush(self, timeout: float) -> bool:
        """Wait until every queued burst is sent and the broker acknowledged every QoS>0 message."""
        deadline = time.monotonic() + timeout
        with self._send_lock:  # a replay being queued (on_connect holds the lock) is queued now
            pass
        if self.connected and not self._pacer.wait_empty(timeout):
            return False
        with self._send_lock:  # a slice taken from the queue is in paho now, its messages tracked
            pass
        return self._acks.flush(max(0.0, deadline - time.monotonic()))

    def _send(self, topic: str, payload: str) -> mqtt.MQTTMessageInfo | None:
        if not self.connected:
            self.stats["skipped_offline"] += 1  # kept in the store, sent on reconnect
            return None
        self._restorer.sending(topic, payload)  # its echo is not someone else's
        info = self._client.publish(topic, payload, qos=self.cfg.qos, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:  # no connection, or paho's queue full: counted, kept in the store
            self._restorer.not_sent(topic, payload)
            self.stats["not_queued"] += 1
            log.debug("MQTT: publish to %s not queued (%s)", topic, mqtt.error_string(info.rc))
            return None
        self.stats["published"] += 1
        self._acks.track(info)
        return info

    def _send_slice(self, limit: int | None) -> Callable[[float], bool] | None:
        """Send up to `limit` (None: all) queued topics with what is held for them now; returns
        the wait for the broker's acknowledgement of them, or None while the broker is away."""
        with self._send_lock:
            if not self.connected:
                return None
            mids = []
            for topic in self._pacer.take(limit):
                payload = self._state.get(topic, self._discovery.get(topic))
                info = self._send(topic, payload) if payload is not None else None
                if info is not None:
                    mids.append(info.mid)
                    if payload == "":  # a removal goes out once: the broker holds nothing for it now
                        self._discovery.pop(topic, None)
        return lambda timeout: self._acks.settle(mids, timeout)

    def _republish_all(self, discovery: bool = True) -> None:
        """Every config (removals too), then every state, in slices."""
        with self._send_lock:
            self._pacer.add([*(self._discovery if discovery else ()), *self._state])

    def _held(self, topic: str) -> str | None:
        """What the broker should hold on `topic` for this bridge (None: not one of its topics)."""
        if topic == self.availability_topic:
            return ONLINE if self.connected else None
        return self._state.get(topic) or self._discovery.get(topic)

    def _restore(self, topic: str) -> None:
        """Send again what the publisher holds on `topic`, which someone else overwrote."""
        with self._send_lock:
            held = self._held(topic)
            if held:
                self._send(topic, held)

    # --- paho callbacks (network thread) ------------------------------------------------

    def _socket_opened(self, client: mqtt.Client, userdata: Any, sock: socket.socket) -> None:
        send_at_once(sock)  # a state goes out as it is published, not after the previous one's ACK
        self._connack.opened(sock)  # CONNECT goes out on the new socket: CONNACK is due within the timeout

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, *_: Any) -> None:
        self._connack.answered()
        if reason_code.is_failure:  # paho keeps doubling its delay: no tight loop
            self.monitor.refused(reason_code)
            return
        self.monitor.connected()
        if self.ha.discovery:
            client.subscribe(self.ha.birth_topic, qos=1)
        for topic_filter in self._routes.own_subscriptions():
            client.subscribe(topic_filter, qos=1)
        start_readback = self._readback.begin()
        if start_readback:
            client.subscribe(f"{self.ha.prefix}/#", qos=1)
        self._restorer.connected()  # subscribed before the replay, so its echoes are recognised
        with self._send_lock:
            self._connected.set()
            self._send(self.availability_topic, ONLINE)
            if not self._previous_cleared:  # else it says offline (or online) forever after an upgrade
                self._previous_cleared = self._send(self.cfg.previous_availability_topic, "") is not None
            self._republish_all(discovery=self._readback.over)
        if start_readback:
            timer = threading.Timer(self._readback.window, self.guard.wrap("the read-back", self._end_readback))
            timer.daemon = True
            timer.start()

    def _end_readback(self) -> None:
        """Send what the read-back shows missing or different; remove the known owners'
        configs that were not announced again. Runs once: from its timer, or from stop()."""
        with self._send_lock:
            if self._readback.over:
                return
            self._client.unsubscribe(f"{self.ha.prefix}/#")
            updates, vanished = self._readback.end(self._discovery, self._owners)
            topics = [topic for topic, _ in updates] + vanished
            queued = set(topics)  # a removal of a config the broker does not hold needs no message
            self._discovery = {t: p for t, p in self._discovery.items() if p or t in queued}
            self._discovery.update(dict.fromkeys(vanished, ""))
            self._pacer.add(topics)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, *_: Any) -> None:
        self._connack.closed()
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._acks.lost()  # re-sent from the store on reconnect
        if self.monitor.disconnected(unexpected=was_connected and reason_code != 0):
            client.reconnect_delay_set(FLAP_RECONNECT_MIN_S, RECONNECT_MAX_S)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # paho calls this inside its `except OSError`: the exception says why (refused, TLS...).
        self.monitor.connect_failed(describe_transport_error(sys.exc_info()[1] or OSError()))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._routes.route(message):
            return
        if not self._readback.over and message.topic.endswith("/config"):
            self._readback.keep(message)
        elif message.topic == self.ha.birth_topic:
            if message.payload == b"online":  # only the exact birth payload counts
                self._births.birth()
        else:
            self._restorer.received(message)
