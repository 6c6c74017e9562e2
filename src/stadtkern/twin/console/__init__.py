"""The operator console of the digital twin: live map, asset pages, KPI dashboard (module ``console``)."""
