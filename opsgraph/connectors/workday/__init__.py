"""Workday (HR) over Reports-as-a-Service: client, report column maps, mapping (sim: `simulators.workday`)."""
