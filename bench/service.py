"""Run an object in its own process and call its methods over a pipe.

The simulators, pyenphase and the memory run each live in their own process, so that the
process CPU time and RSS measured for the bridge are the bridge's alone. Every call has a
timeout; a service that does not answer in time is killed.
"""

from __future__ import annotations

import importlib
import multiprocessing
import traceback

_CTX = multiprocessing.get_context("spawn")  # no fork of a process that has threads


def _serve(conn, module: str, name: str, args: tuple) -> None:
    try:
        obj = getattr(importlib.import_module(module), name)(*args)
    except BaseException:
        conn.send(("err", traceback.format_exc()))
        return
    conn.send(("ok", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            break
        if message is None:
            break
        method, margs, mkw = message
        try:
            conn.send(("ok", getattr(obj, method)(*margs, **mkw)))
        except BaseException:
            conn.send(("err", traceback.format_exc()))
    close = getattr(obj, "close", None)
    if close:
        close()


class ServiceError(RuntimeError):
    pass


class Service:
    """`Service("bench.rig", "Rig")` starts `bench.rig.Rig()` in a new process."""

    def __init__(self, module: str, name: str, *args, start_timeout: float = 60.0):
        self.label = f"{module}.{name}"
        self._conn, child = _CTX.Pipe()
        self.proc = _CTX.Process(target=_serve, args=(child, module, name, args), daemon=True, name=self.label)
        self.proc.start()
        child.close()
        self._receive(start_timeout, "start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, method: str, *args, timeout: float = 120.0, **kwargs):
        self._conn.send((method, args, kwargs))
        return self._receive(timeout, method)

    def begin(self, method: str, *args, **kwargs) -> None:
        """Start a call and return at once; `end()` waits for its result."""
        self._conn.send((method, args, kwargs))
        self._pending = method

    def end(self, timeout: float = 120.0):
        return self._receive(timeout, self._pending)

    def _receive(self, timeout: float, what: str):
        if not self._conn.poll(timeout):
            self.kill()
            raise ServiceError(f"{self.label}: no answer to {what} within {timeout:g} s")
        try:
            status, value = self._conn.recv()
        except EOFError as err:
            raise ServiceError(f"{self.label} died during {what}") from err
        if status == "err":
            raise ServiceError(f"{self.label}.{what} failed:\n{value}")
        return value

    def close(self, timeout: float = 10.0) -> None:
        if self.proc.is_alive():
            try:
                self._conn.send(None)
            except (OSError, ValueError):
                pass
            self.proc.join(timeout)
        self.kill()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
