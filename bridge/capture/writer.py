"""Writing a capture folder: every answer masked (`redact`), in the real captures' layout
(`layout`), with a summary; and the zip to attach to an issue.

The folder is new or empty (a capture never mixes with an older one), 0700, its files 0600,
written through `bridge.files` (never through a symlink). Besides the body of each answer
there is its `X_log.json` (`{"headers": {"content-type": ...}, "code": 200, "duration_seconds":
0.08}`, as the real captures have it: no other header, so no cookie) and `_capture.json`: the
bridge's version, the time, the firmware, the masked serial, what each endpoint gave and how
many values of each kind were masked. Answers are masked only once every answer has been read,
so a serial first seen in a later answer is masked in the earlier ones too.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bridge import __version__
from bridge.capture.layout import SUMMARY_FILE, file_name, log_name
from bridge.capture.reader import Answer
from bridge.capture.redact import Redactor
from bridge.errors import BridgeError
from bridge.files import write_private
from bridge.model import GatewayInfo


@dataclass(frozen=True, slots=True)
class Written:
    folder: Path
    serial: str  # the gateway's placeholder
    answered: int  # endpoints with an HTTP answer (any status)
    ok: int  # of which 200
    masked: dict[str, int]


def write_capture(folder: Path, info: GatewayInfo, answers: list[Answer], redactor: Redactor) -> Written:
    """Mask and write `answers` into the new or empty `folder`; BridgeError if it is not."""
    check_empty(folder)
    redactor.learn_serial(info.serial)  # first: the gateway is 900000000001
    for answer in answers:
        redactor.learn(answer.body)
    serial = redactor.serial(info.serial)
    endpoints: dict[str, object] = {}
    for answer in answers:
        endpoint = redactor.name(answer.endpoint)
        if answer.status is None:
            endpoints[endpoint] = {"error": redactor.mask((answer.error or "").encode()).decode()}
            continue
        name = redactor.name(file_name(answer.endpoint))
        _write(folder / name, redactor.mask(answer.body))
        _write(folder / log_name(name), _json(_log(answer)))
        endpoints[endpoint] = {"file": name, "code": answer.status}
    summary = {
        "bridge_version": __version__,
        "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "firmware": info.firmware,
        "serial": serial,
        "endpoints": endpoints,
        "masked": redactor.counts(),
    }
    _write(folder / SUMMARY_FILE, _json(summary))
    statuses = [a.status for a in answers if a.status is not None]
    return Written(folder, serial, len(statuses), statuses.count(200), redactor.counts())


def write_zip(folder: Path) -> Path:
    """`<folder>.zip` beside the folder (0600), its files under the folder's name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.is_symlink():
                archive.write(path, f"{folder.name}/{path.name}")
    target = folder.with_name(folder.name + ".zip")
    # Created, never replaced (O_EXCL, no link followed): fine in a shared directory like /tmp,
    # where the bridge's own `write_private` refuses to write.
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as err:
        raise BridgeError(f"cannot write {target}: {err.strerror or err}") from None
    with os.fdopen(fd, "wb") as file:
        file.write(buffer.getvalue())
    return target


def check_empty(folder: Path) -> None:
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise BridgeError(f"{folder}: not a directory")
    if folder.is_dir() and any(folder.iterdir()):
        raise BridgeError(f"{folder}: not empty; a capture goes into a new or empty directory")


def _log(answer: Answer) -> dict[str, object]:
    headers = {"content-type": answer.content_type} if answer.content_type else {}
    return {"headers": headers, "code": answer.status, "duration_seconds": round(answer.seconds, 3)}


def _json(document: object) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"


def _write(path: Path, data: bytes) -> None:
    try:
        write_private(path, data, durable=False)
    except OSError as err:
        raise BridgeError(f"cannot write {path}: {err.strerror or err}") from None
