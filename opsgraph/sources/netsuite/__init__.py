"""NetSuite ERP kit: SuiteTalk REST records + SuiteQL (client, mapping, simulator)."""
