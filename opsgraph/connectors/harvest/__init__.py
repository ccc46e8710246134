"""Harvest API v2 (PSA and time): the client and its pure mapping (simulator: `simulators.harvest`)."""
