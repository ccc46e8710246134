"""Harvest API v2 (PSA and time): the client, its pure mapping and the simulator."""
