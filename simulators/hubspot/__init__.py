"""The HubSpot CRM v3 simulator (`simulator.create_app`), serving the seeded world."""
