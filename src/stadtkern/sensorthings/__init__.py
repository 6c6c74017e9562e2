"""The urban data platform: OGC SensorThings API 1.1 (HTTP and MQTT) on the city's own database."""
