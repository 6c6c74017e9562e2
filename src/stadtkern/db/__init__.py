"""Database: one schema for SQLite (embedded default) and PostgreSQL (production)."""
