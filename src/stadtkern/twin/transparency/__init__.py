"""The public transparency register: every kind of sensor and every sensor, with what, why, who and how long."""
