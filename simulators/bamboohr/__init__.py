"""The BambooHR API v1 (HR) simulator (`simulator.SIMULATOR`), serving the seeded world."""
