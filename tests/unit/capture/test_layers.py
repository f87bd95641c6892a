"""The capture's shared rooms stay pure: the layout (which the simulator serves) and the masking
rules (which anything that shows a gateway's answer may use) import nothing of the bridge but
the log redaction; the package file imports nothing."""

from __future__ import annotations

from pathlib import Path

import bridge.capture
from tests.unit.model.test_layers import disallowed, imports_of

CAPTURE = Path(bridge.capture.__file__).parent


def test_the_layout_and_the_masking_rules_import_only_the_log_redaction():
    files = [CAPTURE / "layout.py", CAPTURE / "redact.py"]
    assert {f.name: disallowed(f, ("bridge.redaction",)) for f in files} == {f.name: set() for f in files}


def test_the_package_file_imports_nothing():
    assert imports_of(CAPTURE / "__init__.py") == set()
