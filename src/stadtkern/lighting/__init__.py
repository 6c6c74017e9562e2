"""Street lighting: the city's street lights as assets of the digital twin."""
