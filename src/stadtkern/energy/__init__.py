"""Energy: household smart meters and substations for the twin, and the households' energy pages (meter
activation, consumption, tariff check with day-ahead prices). See docs/energy.md."""
