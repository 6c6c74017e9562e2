"""Reading and writing SensorThings entities in the database."""
