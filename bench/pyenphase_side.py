"""pyenphase (the library behind Home Assistant's Enphase integration) in its own process.

Used the way Home Assistant uses it: its own aiohttp session without certificate checks
(`async_create_clientsession(hass, verify_ssl=False)`), `setup()`, `authenticate(token=...)`,
then `update()` once per coordinator cycle. CPU is this process's `time.process_time()`
around `update()`: HTTP and TLS (aiohttp), JSON (orjson) and pyenphase's models.
"""

from __future__ import annotations

import sys
import time


def available() -> str | None:
    """pyenphase's version, or None when it is not installed in this interpreter."""
    try:
        from importlib.metadata import version

        import aiohttp  # noqa: F401
        import pyenphase  # noqa: F401

        return version("pyenphase")
    except Exception:
        return None


class PyEnphase:
    def __init__(self):
        import asyncio

        self.version = available()
        if self.version is None:
            raise RuntimeError("pyenphase is not installed (bench/setup makes bench/.venv with it)")
        self.loop = asyncio.new_event_loop()
        self.session = self.envoy = None

    def setup(self, host_port: str, token: str) -> dict:
        """setup + authenticate + the first update (which probes), as HA's config entry does."""
        import aiohttp
        from pyenphase import Envoy

        async def go():
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
            self.envoy = Envoy(host_port, client=self.session)
            await self.envoy.setup()
            await self.envoy.authenticate(token=token)
            await self.envoy.update()

        self.loop.run_until_complete(go())
        return {"version": self.version, "firmware": str(self.envoy.firmware)}

    def updates(self, count: int) -> dict:
        cpu, wall = [], []
        for _ in range(count):
            c0, w0 = time.process_time(), time.perf_counter()
            self.loop.run_until_complete(self.envoy.update())
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        return {"cpu": cpu, "wall": wall}

    def close(self) -> None:
        if self.session is not None:
            self.loop.run_until_complete(self.session.close())
        self.loop.close()


def main(argv: list[str]) -> int:
    """A process that is only pyenphase, as Home Assistant runs it: setup and the first update,
    `ready` on stdout, then update() every EVERY seconds until it is terminated.

        python -m bench.pyenphase_side HOST:PORT TOKEN EVERY
    """
    host_port, token, every = argv[0], argv[1], float(argv[2])
    pe = PyEnphase()
    pe.setup(host_port, token)
    print("ready", flush=True)
    due = time.monotonic() + every
    while True:
        time.sleep(max(0.0, due - time.monotonic()))
        pe.updates(1)
        due += every


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
