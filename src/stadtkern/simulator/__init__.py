"""The living demo city: ``stadtkern simulate`` and the generators the domain modules contribute."""
