"""The layout of a capture folder, shared by `capture` (which writes one) and the simulator
(which serves one): a file per endpoint, named after its path, and `X_log.json` beside file X.

This is the layout of the real captures in `../shared/fixtures/envoy/<firmware>/` (pyenphase's
fixture collector): `/ivp/meters/readings` is `ivp_meters_readings`, `/production.json?details=1`
is `production.json_details_1`, and `ivp_meters_readings_log.json` holds the answer's status as
`{"headers": {...}, "code": 200}`. Names starting with `_` are the capture's own (`_capture.json`),
never an endpoint. Imports nothing of the bridge.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

LOG_SUFFIX = "_log.json"
SUMMARY_FILE = "_capture.json"  # what was captured, when, by which bridge version


def file_names(path: str, query: str) -> list[str]:
    """Capture file names for a request, most specific first.

    `/production.json?details=1` -> [`production.json_details_1`, `production.json`];
    `/ivp/meters/readings` -> [`ivp_meters_readings`].
    """
    base = path.strip("/").replace("/", "_")
    names = []
    pairs = parse_qsl(query, keep_blank_values=True)
    if pairs:
        names.append(base + "".join(f"_{key}_{value}" for key, value in pairs))
    names.append(base)
    return names


def file_name(endpoint: str) -> str:
    """The file an endpoint (path and query) is written to: its most specific name."""
    path, _, query = endpoint.partition("?")
    return file_names(path, query)[0]


def log_name(name: str) -> str:
    """The status file beside the body file `name`."""
    return name + LOG_SUFFIX


def is_endpoint_file(name: str) -> bool:
    """Whether `name` may be served as an endpoint's body: no way out of the folder, no status
    file, none of the capture's own files, nothing hidden."""
    return (
        bool(name)
        and "/" not in name
        and "\\" not in name
        and not name.startswith((".", "_"))
        and not name.endswith(LOG_SUFFIX)
    )
