"""The SensorThings query language: resource paths and query options, parsed into a small AST."""
