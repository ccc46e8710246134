"""The Salesforce REST API (v60.0, CRM) simulator (`simulator.SIMULATOR`), serving the seeded world."""
