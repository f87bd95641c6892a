"""`bridge/info`: retained, masked, sent again only when a gateway's firmware (or serial) changes."""

from __future__ import annotations

import json

from bridge.admin.info import BridgeInfo
from bridge.config import Config, ControlsConfig, GatewayConfig, MqttConfig
from bridge.model import GatewayInfo
from tests.support.sinks import Recorder, make_snapshot

CONFIG = Config(
    gateways=(GatewayConfig(host="192.0.2.7", username="me@example.com", password="pw-123", token="eyJx.y.z"),),
    mqtt=MqttConfig(username="bridge", password="mqtt-pw"),
    controls=ControlsConfig(battery=True, relays=True),
)


def test_the_document_masks_every_secret_and_login():
    recorder = Recorder()
    BridgeInfo(recorder, CONFIG).publish()  # type: ignore[arg-type]
    [(topic, payload)] = recorder.states
    document = json.loads(payload)
    assert topic == CONFIG.mqtt.bridge_topic("info")
    for secret in ("pw-123", "eyJx", "mqtt-pw", "me@example.com"):
        assert secret not in payload
    assert document["config"]["mqtt"]["username"] == "********"
    assert document["config"]["gateways"][0]["host"] == "192.0.2.7"
    assert document["features"]["controls"] == ["battery", "relays"]
    assert document["features"]["requests"] == [
        "poll",
        "renew_token",
        "rediscover",
        "read",
        "health_check",
        "log_level",
    ]
    assert document["gateways"] == [{"label": "192.0.2.7", "serial": None, "firmware": None}]


def test_a_gateways_cycles_fill_it_in_and_only_a_change_sends_it_again():
    recorder = Recorder()
    info = BridgeInfo(recorder, CONFIG)  # type: ignore[arg-type]
    watch = info.watch("192.0.2.7")
    for _ in range(3):
        watch.snapshot(make_snapshot(firmware="8.2.4382"))
    watch.snapshot(make_snapshot(firmware="8.3.5167"))
    sent = [json.loads(payload)["gateways"][0]["firmware"] for _, payload in recorder.states]
    assert sent == ["8.2.4382", "8.3.5167"]


def test_gateway_seen_records_the_part_number():
    recorder = Recorder()
    info = BridgeInfo(recorder, CONFIG)  # type: ignore[arg-type]
    info.gateway_seen("192.0.2.7", GatewayInfo("999000000001", "7.6.175", "800-00654-r08", True, True))
    assert info.document()["gateways"][0]["part_number"] == "800-00654-r08"
