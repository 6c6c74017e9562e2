"""Waste collection: containers with fill-level sensors as assets of the digital twin."""
