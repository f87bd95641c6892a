"""Captures for bug reports: `envoy-mqtt-bridge capture` reads every endpoint the project knows
once and writes the answers, masked, in the layout of the real captures; the simulator serves
such a folder back (`simulate --capture DIR`) and the tests can take it as a fixture.

`layout` (the folder's file names) and `redact` (the masking rules) are pure and may be imported
by anyone: the simulator serves the layout, and any code that shows a gateway's answer masks it
with `redact`. `endpoints` says what is read (the model's registry and the reference's other
reads, never a write), `reader` reads it through the gateway's own client (`bridge.gateway`:
credentials, token, pinned TLS, one request at a time), `writer` masks and writes the folder and
its zip (through `bridge.files`), and `command` is the `capture` command that wires them.
"""
