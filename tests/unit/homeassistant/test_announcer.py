"""The Home Assistant announcer: discovery rebuilt when the shape of the data changes, not its
values; entities kept until the next probe; expire_after from each topic's poll group."""

from __future__ import annotations

import json
from dataclasses import replace

from bridge.config import Config, GatewayConfig, HomeAssistantConfig, MqttConfig, PollIntervals
from bridge.homeassistant.announcer import Announcer
from bridge.model import LiveDocument
from tests.support.sinks import SERIAL, Recorder, make_snapshot

CONFIG = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=PollIntervals())
PRODUCTION = {"schema": 1, "serial": SERIAL, "firmware": "8.2.4382", "time": 1, "production": {"power_w": 1200}}
BOTH = PRODUCTION | {"consumption": {"power_w": 800}}


def announcer(config: Config = CONFIG) -> tuple[Announcer, Recorder]:
    recorder = Recorder()
    return Announcer(recorder, config, "gw"), recorder


def keys(recorder: Recorder) -> set[str]:
    return {json.loads(config)["unique_id"].removeprefix(f"{SERIAL}_") for config in recorder.discovery.values()}


def test_the_first_snapshot_announces_the_gateways_entities_and_its_units():
    sink, rec = announcer()
    sink.snapshot(make_snapshot(PRODUCTION, documents={"inverter/123": {"power_w": 200}}))
    assert rec.discovery_syncs == 1
    assert {"production", "firmware", "last_poll"} <= keys(rec)
    topics = {json.loads(c)["state_topic"] for c in rec.discovery.values()}
    assert topics == {
        f"envoy/{SERIAL}/state",
        f"envoy/{SERIAL}/diagnostics",
        f"envoy/{SERIAL}/inverter/123",
        MqttConfig().bridge_topic("health"),  # the gateway's request failures and latency
    }
    device = json.loads(next(iter(rec.discovery.values())))["device"]
    assert device["sw_version"] == "8.2.4382"


def test_new_values_in_the_same_shape_announce_nothing():
    sink, rec = announcer()
    sink.snapshot(make_snapshot(PRODUCTION))
    sink.snapshot(make_snapshot(PRODUCTION | {"time": 2, "production": {"power_w": 5}}))
    assert rec.discovery_syncs == 1


def test_a_value_gone_missing_stays_announced_until_the_next_probe():
    sink, rec = announcer()
    sink.snapshot(make_snapshot(BOTH))
    sink.snapshot(make_snapshot(PRODUCTION))  # a bad answer: consumption missing for a while
    assert rec.discovery_syncs == 2 and "consumption" in keys(rec)  # Home Assistant keeps its history
    sink.snapshot(make_snapshot(BOTH))
    sink.snapshot(make_snapshot(PRODUCTION, generation=2))
    assert "consumption" not in keys(rec) and "production" in keys(rec)  # probed again: it is gone


def test_a_probe_alone_does_not_announce_again():
    sink, rec = announcer()
    sink.snapshot(make_snapshot(PRODUCTION))
    sink.snapshot(make_snapshot(PRODUCTION, generation=2))  # an outage, the same gateway back
    assert rec.discovery_syncs == 1


def test_a_firmware_change_announces_again():
    sink, rec = announcer()
    sink.snapshot(make_snapshot(PRODUCTION))
    sink.snapshot(make_snapshot(PRODUCTION, firmware="8.3.5167", generation=2))
    assert rec.discovery_syncs == 2
    assert json.loads(next(iter(rec.discovery.values())))["device"]["sw_version"] == "8.3.5167"


def test_expire_after_follows_each_topics_poll_group_or_the_setting():
    sink, _ = announcer()
    # defaults: meters 10 s, batteries 60 s, inverters 300 s, republish 300 s
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/state") == 360
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/diagnostics") == 360
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/inverter/123") == 900
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/battery/123") == 360
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/live") == 30  # every fresh sample is sent
    sink, _ = announcer(replace(CONFIG, poll=PollIntervals(live="20")))
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/live") == 60
    sink, _ = announcer(replace(CONFIG, mqtt=replace(MqttConfig(), republish_interval=900)))
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/state") == 960
    sink, _ = announcer(replace(CONFIG, homeassistant=HomeAssistantConfig(expire_after="0")))
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/state") is None
    sink, _ = announcer(replace(CONFIG, homeassistant=HomeAssistantConfig(expire_after="45")))
    assert sink.expire_after(SERIAL, f"envoy/{SERIAL}/state") == 45


def test_the_configs_carry_the_expire_after_of_their_topic():
    sink, rec = announcer()
    sink.snapshot(make_snapshot(PRODUCTION, documents={"inverter/123": {"power_w": 200}}))
    by_topic = {c["state_topic"].rsplit("/", 1)[-1]: c["expire_after"] for c in map(json.loads, rec.discovery.values())}
    assert by_topic == {"state": 360, "diagnostics": 360, "123": 900, "health": 360}


def test_the_live_entities_come_with_the_first_cycle_that_has_live_data():
    sink, rec = announcer()
    sink.snapshot(make_snapshot(PRODUCTION))
    live = LiveDocument(time=2, sampled_at=1, pv_power_w=1500.0, grid_power_w=-300.0, main_relay="closed")
    sink.snapshot(make_snapshot(PRODUCTION, live=live))
    sink.snapshot(make_snapshot(PRODUCTION, live=replace(live, time=3, pv_power_w=1400.0)))  # same shape
    assert rec.discovery_syncs == 2
    live_configs = [c for c in map(json.loads, rec.discovery.values()) if c["state_topic"] == f"envoy/{SERIAL}/live"]
    assert {c["unique_id"] for c in live_configs} == {
        f"{SERIAL}_live_pv_power",
        f"{SERIAL}_live_grid_power",
        f"{SERIAL}_main_relay",
    }
    assert {c["expire_after"] for c in live_configs} == {30}


CLOUD = {"time": 5, "age_s": 60, "source_status": "ok", "system_status": "normal", "production": {"power_w": 900}}


def test_cloud_values_join_the_gateway_device_after_a_snapshot_available_with_the_bridge_alone():
    sink, rec = announcer()
    sink.cloud(SERIAL, CLOUD)
    assert rec.discovery_syncs == 0  # the gateway is not described yet
    sink.snapshot(make_snapshot(PRODUCTION))
    assert {"cloud_production_power", "cloud_system_status", "cloud_api_status"} <= keys(rec)
    cloud = json.loads(rec.discovery[f"homeassistant/sensor/{SERIAL}/cloud_production_power/config"])
    assert cloud["state_topic"] == f"envoy/{SERIAL}/cloud" and "expire_after" not in cloud
    # shown while the local gateway is offline: that is when they matter
    assert cloud["availability"] == [{"topic": MqttConfig().availability_topic}]
    sink.cloud(SERIAL, CLOUD | {"time": 6, "age_s": 70})
    assert rec.discovery_syncs == 1  # new values, same shape
    sink.cloud(SERIAL, CLOUD | {"consumption": {"power_w": 300}})
    assert rec.discovery_syncs == 2 and "cloud_consumption_power" in keys(rec)


def test_a_cloud_only_gateway_has_no_firmware_and_its_entities_never_expire():
    config = replace(CONFIG, cloud_api=replace(CONFIG.cloud_api, api_key="k", client_id="c", client_secret="s"))
    config = replace(config, cloud_api=replace(config.cloud_api, mode="only"))
    sink, rec = announcer(config)
    sink.snapshot(make_snapshot(PRODUCTION, firmware=""))
    production = json.loads(rec.discovery[f"homeassistant/sensor/{SERIAL}/production/config"])
    assert "expire_after" not in production and "sw_version" not in production["device"]
