"""Traffic: counting stations as assets of the digital twin."""
