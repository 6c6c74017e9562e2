"""The digital twin: the city profile (shapes, hotspots, generation spec) and the asset registry."""
