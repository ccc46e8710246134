"""BambooHR (HR), the system of record for people: client and mapping (simulator: `simulators.bamboohr`)."""
