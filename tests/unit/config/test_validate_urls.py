"""bridge.config.validate, the URL checks of issue 11: a cloud URL in plain http is refused except
to loopback (finding 7); a pinned gateway cannot be told `http://` (finding 4)."""

from __future__ import annotations

import pytest

from bridge.config import CloudConfig
from bridge.config.validate import check_cloud_urls
from tests.unit.config.conftest import MINIMAL

PINNED = "gateways:\n  - host: {host}\n    tls: {{fingerprint: '" + "ab" * 32 + "'}}\n"


def cloud_problems(**urls: str) -> list[str]:
    problems: list[str] = []
    check_cloud_urls(CloudConfig(**urls), problems)
    return problems


@pytest.mark.parametrize(
    "url",
    [
        "http://enlighten.enphaseenergy.com",
        "http://192.168.1.20:8080/",
        "HTTP://enlighten.enphaseenergy.com",
        "http://127.0.0.1.nip.io",  # a name that looks like loopback resolves anywhere
        "http://localhost.example.com",
        "http://[::ffff:10.0.0.1]",
    ],
)
def test_h11_7_http_cloud_url_is_refused_with_the_key_and_why(url):
    assert cloud_problems(enlighten_url=url) == [
        (
            "cloud.enlighten_url: plain http would send the Enlighten password and tokens in clear text; "
            "use https:// (http:// is allowed only to a loopback address: 127.0.0.0/8, ::1, localhost)"
        )
    ]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8443", "http://127.5.6.7", "http://localhost:9", "http://LOCALHOST", "http://[::1]:9/x"],
)
def test_h11_7_http_to_loopback_is_allowed_for_the_simulator_and_tests(url):
    assert cloud_problems(enlighten_url=url, entrez_url=url) == []


@pytest.mark.parametrize(
    "url",
    [
        "enlighten.enphaseenergy.com",
        "ftp://enlighten.enphaseenergy.com",
        "https://",
        "https://127.0.0.1:99999",
        "https://user:secret@enlighten.enphaseenergy.com",  # user info: not a login, and no place for one
        "http://127.0.0.1\\@evil.example",  # parsers disagree on which host this is
        "https://enlighten.enphaseenergy.com\n",
    ],
)
def test_h11_7_anything_but_a_plain_https_url_is_refused(url):
    found = cloud_problems(entrez_url=url)
    assert len(found) == 1 and found[0].startswith("cloud.entrez_url: ")
    assert "secret" not in found[0]


def test_h11_7_defaults_and_https_pass():
    assert cloud_problems() == []
    assert cloud_problems(enlighten_url="https://enlighten.example:8443/base") == []


def test_h11_7_the_loader_refuses_http_from_the_file_and_from_the_environment(problems):
    text = MINIMAL + "cloud:\n  enlighten_url: http://enlighten.enphaseenergy.com\n"
    assert [p.split(":")[0] for p in problems(text)] == ["cloud.enlighten_url"]
    from_env = problems(MINIMAL, {"ENVOY_BRIDGE_CLOUD_ENTREZ_URL": "http://entrez.enphaseenergy.com"})
    assert len(from_env) == 1 and from_env[0].startswith("cloud.entrez_url: plain http")


def test_h11_4_a_pinned_gateway_cannot_be_told_http(problems, load):
    assert problems(PINNED.format(host="http://10.0.0.5")) == [
        (
            "gateways[0].host: http:// and a pinned certificate (`tls.fingerprint`): over http the pin is "
            "never checked and everything travels in clear text; use https:// or no scheme"
        )
    ]
    assert load(PINNED.format(host="https://10.0.0.5")).gateways[0].scheme == "https"
    assert load(PINNED.format(host="10.0.0.5")).gateways[0].scheme is None
