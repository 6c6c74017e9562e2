"""District heating: heating points as assets of the digital twin."""
