"""BambooHR (HR), the system of record for people: client, mapping and simulator."""
