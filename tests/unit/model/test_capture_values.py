"""Exact snapshots of real captures, hand-checked against the capture files.

Every number is the capture's value rounded half to even (pyenphase's round()) for W and Wh;
V, A, Hz and power factor are as reported (a meter's voltage is the gateway's own aggregate,
see bridge/model/builders/ctmeters.py). Where pyenphase's test suite has
an expectation for the same capture (tests/unit/gateway/test_schedule.py phase values for
7.6.175_with_cts_3phase, the updater chosen for each capture), the numbers agree.
"""

import pytest

from bridge.errors import EnvoyDataError
from tests.support.captures import load_capture

PJ, V1, INVENTORY = "/production.json?details=1", "/api/v1/production", "/ivp/ensemble/inventory"
METERS = {"/ivp/meters", "/ivp/meters/readings"}
# The endpoints of the gateway's own readings; per-device and battery endpoints, and the state
# sections they feed, are checked by the golden files (test_golden.py).
CORE = {PJ, "/production", V1, INVENTORY, "/ivp/ensemble/relay"} | METERS
STORAGE_SECTIONS = {"battery", "acb", "battery_combined", "storage_settings"}


def present(**fields):
    """The fields that are published: a None value is left out."""
    return {key: value for key, value in fields.items() if value is not None}


def flow(power, today=None, seven_days=None, lifetime=None):
    """A flow section; today/seven_days None = not published."""
    return present(power_w=power, energy_today_wh=today, energy_last_7_days_wh=seven_days, energy_lifetime_wh=lifetime)


def ct(power, volts, amps, hertz, pf, delivered, received, status=None):
    """A CT meter section (pf None = not published); a meter (with a status) has no status flags."""
    return present(
        power_w=power,
        voltage_v=volts,
        current_a=amps,
        frequency_hz=hertz,
        power_factor=pf,
        energy_delivered_wh=delivered,
        energy_received_wh=received,
        metering_status=status,
        status_flag_count=0 if status else None,
    )


def phased(total, *phases):
    """A flow or meter section with its phases, l1, l2 (and l3) in that order."""
    return total | {"phases": {f"l{number}": phase for number, phase in enumerate(phases, 1)}}


def grid(import_power, export_power, imported, exported, status=None):
    """The grid section (status None = not published: no Enpower, no Collar)."""
    return present(
        status=status,
        import_power_w=import_power,
        export_power_w=export_power,
        energy_imported_wh=imported,
        energy_exported_wh=exported,
    )


def head(serial, firmware, time):
    return {"schema": 1, "serial": serial, "firmware": firmware, "time": time}


def check(name, selected, source, expected):
    capture = load_capture(name)
    assert capture.selected() & CORE == selected
    state = capture.state()
    assert state.production_source == source
    assert {k: v for k, v in state.as_payload().items() if k not in STORAGE_SECTIONS} == expected
    return state


def test_3_7_0_firmware_3_html_only_is_a_documented_data_error():
    capture = load_capture("3.7.0")
    # /production and /production.json are HTML pages on this firmware: decode refuses them.
    assert set(capture.refused) == {PJ, "/production"}
    assert all("not JSON" in why for why in capture.refused.values())
    assert capture.selected() == set()
    with pytest.raises(EnvoyDataError, match="no usable"):
        capture.state()


def test_5_0_62_standard_from_api_v1():
    # /production answered 401 (absent); production.json has only the inverters entry.
    check(
        "5.0.62",
        {V1},
        "api_v1",
        head("121621012167", "5.0.62", 1700000000) | {"production": flow(7907, 20161, 366671, 133798553)},
    )


def test_7_6_175_standard_from_api_v1():
    check(
        "7.6.175_standard",
        {V1},
        "api_v1",
        head("122302045041", "7.6.175", 1700000000) | {"production": flow(5740, 36462, 189712, 6139406)},
    )


@pytest.mark.parametrize(
    "name, serial, firmware, time, power, lifetime",
    [
        # v1 all wattHours 0 -> inverters entry (pyenphase: EnvoyProductionJsonFallbackUpdater)
        ("7.3.466_metered_disabled_cts", "122238082763", "7.3.466", 1693745066, 751, 702919),
        # v1 1583 Wh but 8.2.4264 metered with no enabled CT: stalled -> inverters entry
        ("8.2.4264_metered_noct", "envoyserial", "8.2.4264", 1746702889, 5521, 32465106),
    ],
)
def test_metered_without_cts_from_inverters(name, serial, firmware, time, power, lifetime):
    # Only power and lifetime: the inactive eim entry's today / 7-day values are not believed.
    check(name, {PJ}, "inverters", head(serial, firmware, time) | {"production": flow(power, lifetime=lifetime)})


def test_7_6_175_with_cts_single_phase():
    check(
        "7.6.175_with_cts",
        {PJ} | METERS,
        "eim",
        head("122238082763", "7.6.175", 1693745133)
        | {
            "production": flow(488, 4425, 111093, 3183793),
            "consumption": flow(477, 19904, 5, 5145154),
            "net_consumption": flow(-11, lifetime=1961513),
            "grid": grid(0, 36, 3738205, 1776769),
            "meters": {
                "production": ct(489, 235.236, 2.169, 50.0, 0.957, 3183794, 8852, "normal"),
                "net_consumption": ct(-36, 235.201, 2.745, 50.0, -0.06, 3738205, 1776769, "normal"),
            },
        },
    )


def test_7_6_175_with_cts_3phase_phases_match_pyenphase():
    state = check(
        "7.6.175_with_cts_3phase",
        {PJ} | METERS,
        "eim",
        head("122238082763", "7.6.175", 1693745133)
        | {
            "production": phased(
                flow(-6, 5113, 69492, 4351113),
                flow(-3, 2200, 29891, 1869678),
                flow(0, 1455, 19794, 1241246),
                flow(-4, 1458, 19807, 1240189),
            ),
            "consumption": phased(
                flow(209, 12423, 68784, 4074795),
                flow(89, 8585, 39392, 2293783),
                flow(123, 2155, 18949, 948058),
                flow(-3, 1683, 10443, 832954),
            ),
            "net_consumption": phased(
                flow(216, lifetime=2886562),
                flow(91, lifetime=1625201),
                flow(123, lifetime=629892),
                flow(1, lifetime=631469),
            ),
            "grid": grid(0, 36, 3738205, 1776769),
            "meters": {
                # This capture's readings come from a single-phase system (channels 2-3 hold a few
                # volts of noise) while /ivp/meters says three phases: the gateway's 235 V it is.
                "production": phased(
                    ct(489, 235.236, 2.169, 50.0, 0.957, 3183794, 8852, "normal"),
                    ct(489, 235.236, 2.169, 50.0, 0.957, 3183794, 8852),
                    ct(0, 6.124, 0.0, 50.0, 0.0, 0, 5371),
                    ct(-1, 11.469, 0.227, 50.0, -1.0, 0, 9818),
                ),
                "net_consumption": phased(
                    ct(-36, 235.201, 2.745, 50.0, -0.06, 3738205, 1776769, "normal"),
                    ct(-36, 235.201, 2.745, 50.0, -0.06, 3738205, 1776769),
                    ct(0, 2.981, 0.0, 50.0, -1.0, 0, 8279),
                    ct(0, 4.635, 0.242, 50.0, 0.0, 0, 13980),
                ),
            },
        },
    )
    assert state.grid_status is None  # no Enpower, no Collar: unknown, not "on_grid"


def test_8_2_127_three_cts_battery_split_phase():
    check(
        "8.2.127_with_3cts_and_battery_split",
        {PJ, INVENTORY} | METERS,
        "eim",
        head("123456789012", "8.2.127", 1709829518)
        | {
            "production": flow(1714, 1475, 3164458, 3165834),
            "consumption": flow(1844, 7596, 0, 7909866),
            "net_consumption": flow(129, lifetime=4744550),
            "grid": grid(129, 0, 4998252, 253961, status="on_grid"),
            "meters": {
                "production": phased(
                    ct(1714, 242.367, 17.326, 60.0, 0.817, 3165834, 76, "normal"),
                    ct(856, 121.224, 8.658, 60.0, 0.822, 1581746, 46),
                    ct(858, 121.143, 8.668, 60.0, 0.812, 1584088, 30),
                ),
                "net_consumption": phased(
                    ct(129, 242.553, 21.241, 60.0, 0.034, 4998252, 253961, "normal"),
                    ct(-201, 121.334, 9.316, 60.0, -0.193, 2631217, 93777),
                    ct(331, 121.219, 11.925, 60.0, 0.212, 2367035, 160184),
                ),
                # split phase: the third, all-zero channel is not a phase
                "storage": phased(
                    ct(-2580, 242.582, 14.575, 60.0, -1.0, 2274359, 2971414, "normal"),
                    ct(-2115, 121.334, 9.316, 60.0, -0.193, 1136860, 1485292),
                    ct(-465, 121.248, 5.259, 60.0, -0.713, 1137499, 1486122),
                ),
            },
        },
    )


def test_8_2_4382_acb():
    # one IQ Battery in the inventory: polled now for the battery (no Enpower: no grid status)
    check(
        "8.2.4382_ACB",
        {PJ, INVENTORY} | METERS,
        "eim",
        head("123456789012", "8.2.4382", 1732092964)
        | {
            "production": flow(311, 297, 41261, 19213421),
            "consumption": flow(330, 6554, 77, 26700501),
            "net_consumption": flow(19, lifetime=7489243),
            "grid": grid(23, 0, 14153292, 6665131),
            "meters": {
                "production": ct(308, 228.561, 1.466, 50.062, 0.918, 19213421, 7337, "normal"),
                "net_consumption": ct(23, 228.575, 1.477, 50.125, 0.066, 14153292, 6665131, "normal"),
            },
        },
    )


def test_8_3_1598_collar():
    state = check(
        "8.3.1598_collar",
        {PJ, INVENTORY} | METERS,
        "eim",
        head("123456789012", "8.3.1598", 1752974752)
        | {
            # "today" equal to lifetime is the gateway's own known quirk, passed through
            "production": phased(
                flow(0, 47078, 47078, 47078), flow(0, 23506, 23506, 23506), flow(0, 23572, 23572, 23572)
            ),
            "consumption": phased(
                flow(3774, 132913, 132913, 132913), flow(2326, 56749, 56749, 56749), flow(1448, 76164, 76164, 76164)
            ),
            "net_consumption": phased(
                flow(3774, lifetime=85835), flow(2326, lifetime=33243), flow(1448, lifetime=52592)
            ),
            "grid": grid(3761, 0, 108564, 22729, status="on_grid"),
            "meters": {
                "production": phased(
                    ct(0, 240.537, 2.927, 60.0, 0.0, 47078, 16, "normal"),
                    ct(0, 120.617, 1.46, 60.0, 0.0, 23506, 8),
                    ct(0, 119.833, 1.46, 60.0, 0.0, 23572, 8),
                ),
                # aggregate pwrFactor 1.94 is impossible: left out
                "net_consumption": phased(
                    ct(3761, 240.537, 32.108, 60.021, None, 108564, 22729, "normal"),
                    ct(2395, 120.617, 20.729, 60.021, 0.979, 47525, 14282),
                    ct(1460, 119.833, 12.566, 60.021, 0.96, 61039, 8447),
                ),
                "storage": phased(
                    ct(-1298, 240.684, 10.964, 60.0, None, 344, 8053, "normal"),
                    ct(-656, 120.674, 5.54, 60.0, -0.989, 234, 4028),
                    ct(-652, 119.923, 5.534, 60.0, -0.977, 110, 4025),
                ),
                # l2 carries a current with no voltage: odd, but not an all-zero (unused) channel
                "backfeed": phased(
                    ct(-686, 120.58, 11.488, 0.0, -0.991, 4, 7015, "normal"),
                    ct(-662, 120.587, 5.73, 0.0, -0.991, 4, 7015),
                    ct(0, 0.0, 5.722, 0.0, 0.0, 0, 0),
                ),
                # load, evse, pv3p are disabled; eid 1023410688 is in the readings only: all ignored
            },
        },
    )
    assert state.grid_status == "on_grid"  # from admin_state_str ENCMN_MDE_ON_GRID


def test_8_3_5167_third_party_pv_three_phase():
    check(
        "8.3.5167_3rd-pv",
        {PJ, INVENTORY} | METERS,
        "eim",
        head("123456789012", "8.3.5167", 1753703632)
        | {
            "production": phased(
                flow(5305, 19283, 550555, 569122),
                flow(2969, 10032, 298977, 308603),
                flow(1170, 4640, 126158, 130643),
                flow(1166, 4610, 125419, 129875),
            ),
            "consumption": phased(
                flow(325, 8958, 0, 253002),
                flow(36, 2335, 7, 72207),
                flow(284, 5159, 43, 143899),
                flow(5, 1516, 2, 36897),
            ),
            "net_consumption": phased(
                flow(-4980, lifetime=-315944),
                flow(-2933, lifetime=-236343),
                flow(-886, lifetime=13341),
                flow(-1161, lifetime=-92942),
            ),
            "grid": grid(0, 4912, 99056, 415089, status="on_grid"),
            "meters": {
                # the gateway's aggregate "voltage" is the sum of the three phase voltages
                "production": phased(
                    ct(5236, 694.641, 22.2, 50.062, 1.0, 569123, 479, "normal"),
                    ct(2916, 237.779, 12.119, 50.062, 1.0, 308603, 141),
                    ct(1162, 230.017, 5.018, 50.062, 1.0, 130644, 90),
                    ct(1158, 226.845, 5.063, 50.062, 1.0, 129876, 248),
                ),
                "net_consumption": phased(
                    ct(-4912, 694.708, 21.163, 50.0, -0.981, 99056, 415089, "normal"),
                    ct(-2880, 237.755, 12.129, 50.0, -0.987, 11078, 247449),
                    ct(-877, 230.121, 3.982, 50.0, -0.945, 71754, 58456),
                    ct(-1155, 226.831, 5.053, 50.0, -0.994, 16224, 109185),
                ),
            },
        },
    )
