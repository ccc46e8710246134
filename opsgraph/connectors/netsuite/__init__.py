"""NetSuite ERP connector: SuiteTalk REST records + SuiteQL (client, mapping; simulator in `simulators`)."""
