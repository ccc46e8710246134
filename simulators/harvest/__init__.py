"""The Harvest API v2 (PSA and time) simulator (`simulator.SIMULATOR`), serving the seeded world."""
