"""A Workday simulator: one tenant's custom reports (RaaS), its token endpoint and REST workers."""
