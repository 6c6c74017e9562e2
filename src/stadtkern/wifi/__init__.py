"""Public WLAN: the city's hotspots as assets of the digital twin (counts only, no device data)."""
