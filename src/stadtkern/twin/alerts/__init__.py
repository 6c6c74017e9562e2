"""Alerts of the digital twin: rules on Datastreams, their evaluation, an inbox and an on-call rota."""
