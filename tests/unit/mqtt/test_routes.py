"""Messages for the bridge's handlers: routed by topic, each once, and subscribed for only where
the publisher's `{base}/#` does not already bring them."""

from __future__ import annotations

import paho.mqtt.client as mqtt

from bridge.mqtt.routes import Routes


def message(topic: str) -> mqtt.MQTTMessage:
    return mqtt.MQTTMessage(topic=topic.encode())


def test_filters_below_the_base_topic_need_no_subscription_of_their_own():
    routes = Routes("envoy/#")
    assert routes.add(("envoy/+/relay/+/set", "envoy/bridge/request/+"), print) == ()
    assert routes.add(("other/+/set", "envoy2/x", "envoy/#"), print) == ("other/+/set", "envoy2/x")
    assert routes.own_subscriptions() == ("other/+/set", "envoy2/x")


def test_each_message_goes_once_to_each_registration_it_matches():
    routes, got = Routes("envoy/#"), []
    routes.add(("envoy/+/relay/+/set", "envoy/+/storage/mode/set"), lambda m: got.append(("controls", m.topic)))
    routes.add(("envoy/bridge/request/+",), lambda m: got.append(("requests", m.topic)))
    assert routes.route(message("envoy/1/relay/NC1/set"))
    assert routes.route(message("envoy/bridge/request/status"))
    assert not routes.route(message("envoy/1/relay/NC1/result"))
    assert got == [("controls", "envoy/1/relay/NC1/set"), ("requests", "envoy/bridge/request/status")]


def test_nothing_registered_routes_nothing():
    assert not Routes("envoy/#").route(message("envoy/1/relay/NC1/set"))
    assert Routes("envoy/#").own_subscriptions() == ()
