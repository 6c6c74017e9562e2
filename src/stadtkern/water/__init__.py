"""Water network: pressure and flow sensors as assets of the digital twin."""
