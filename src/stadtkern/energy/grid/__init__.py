"""Neighbourhood grid analysis (issue 7, the utility's part): a SimBench low-voltage grid, a time series
of power flows, what-if scenarios. See docs/energy.md, "Grid analysis"."""
