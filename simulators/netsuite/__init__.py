"""The NetSuite SuiteTalk REST + SuiteQL (ERP) simulator (`simulator.SIMULATOR`), serving the seeded world."""
