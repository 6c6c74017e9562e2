"""Conformance tests keyed to the OGC SensorThings API 1.1 requirement ids (see /work/scratch/sta-digest.md §9).

Every test runs on SQLite and PostgreSQL (the ``sta`` fixture comes from ``tests/sensorthings/conftest.py``).
Requirement ids are written relative to ``http://www.opengis.net/spec/iot_sensing/1.1/``.
"""

from tests.sensorthings.conftest import sta, sta_app

__all__ = ["sta", "sta_app"]
