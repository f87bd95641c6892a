"""Benchmarks of the bridge against the simulator, a real Mosquitto and pyenphase: `python bench/run.py`."""
