"""Derived views computed from live source data: pure calculations plus the loads they need."""
