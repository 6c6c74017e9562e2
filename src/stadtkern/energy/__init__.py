"""Energy: household smart meters and substations (the meter part; tariffs come later)."""
