"""Role conformance suites: every registered connector of a role, against its own simulator.

One suite per role (`test_crm.py`, `test_psa.py`, `test_hr.py`, `test_erp.py`), parametrised over the
registry's connectors of that role. Expected values are derived from the seeded world through the
projections in `projection.py`; the simulators are reached over real sockets (`serving.py`).
"""
