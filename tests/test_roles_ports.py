"""Role ports: which read methods each existing client already offers under the port's name and shape
(parameter names and kinds, async, and the return annotation as written).

The expected gaps are written out below, so closing one (a rename in a connector) fails this test
until the tables are updated: the tables are the plan for making the clients conform.
"""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from opsgraph.model import Role, SourceRef
from opsgraph.roles import (
    POLLED,
    PORTS,
    Change,
    ChangeBatch,
    ChangeKind,
    CrmPort,
    Entity,
    ErpPort,
    HrPort,
    PsaPort,
    SystemPort,
)
from opsgraph.roles.filters import DateRange, TimeEntryFilter, TimeOffFilter

CLIENTS: dict[str, tuple[str, Role]] = {
    "salesforce": ("SalesforceClient", Role.CRM),
    "hubspot": ("HubSpotClient", Role.CRM),
    "harvest": ("HarvestClient", Role.PSA),
    "bamboohr": ("BambooHRClient", Role.HR),
    "netsuite": ("NetSuiteClient", Role.ERP),
}

CREDENTIALS = {
    "access_token": "t",
    "account_id": "1",
    "api_key": "k",
    "company_domain": "acme",
    "client_id": "c",
    "client_secret": "s",
}

# Port read methods a client has no attribute for.
MISSING: dict[str, set[str]] = {
    "salesforce": {"system", "probe", "clients_by_ids", "list_clients", "opportunities_by_client_ids"},
    "hubspot": {"probe", "clients_by_ids", "list_clients", "opportunities_by_client_ids"},
    "harvest": {
        "system",
        "probe",
        "changed_since",
        "engagements_by_ids",
        "engagements_by_codes",
        "list_engagements",
        "list_assignments",
        "assignments_by_engagement_ids",
        "list_time_entries",
        "time_entries_by_ids",
        "hours_by_engagement",
    },
    "bamboohr": {"system", "probe", "resources_by_ids", "list_resources", "list_time_off"},
    "netsuite": {"system", "probe", "customers_by_client_ids", "list_time_postings"},
}

# Port read methods a client has under the port's name but with other parameters (or not async).
# A `*_by_ids`/`*_by_codes` listed here maps a missing id to None, where the port leaves it absent.
DIFFERS: dict[str, set[str]] = {
    "salesforce": {
        "changed_since",  # (sobject, since) -> raw records
        "list_opportunities",  # keyword filters
        "opportunities_by_ids",
        "opportunities_by_engagement_codes",
    },
    "hubspot": {
        "changed_since",  # (resource, since) -> raw records
        "list_opportunities",  # keyword filters
        "opportunities_by_ids",
        "opportunities_by_engagement_codes",
    },
    "bamboohr": {"changed_since"},  # (since) -> {id: action}
    "netsuite": {
        "changed_since",  # (table, since) -> raw rows
        "list_invoices",  # keyword open_only
        "customers_by_ids",
        "jobs_by_ids",
        "jobs_by_codes",
        "invoices_by_ids",
    },
}

# Where each missing port method lives today (the rename plan); None: nothing to rename yet.
CURRENT: dict[str, dict[str, str | None]] = {
    "salesforce": {
        "clients_by_ids": "accounts_by_ids",
        "list_clients": "list_accounts",
        "opportunities_by_client_ids": "opportunities_by_account_ids",
        "system": "source",
        "probe": None,  # Sources.ping: SOQL `SELECT Id FROM Account LIMIT 1`
    },
    "hubspot": {
        "clients_by_ids": "accounts_by_ids",
        "list_clients": "list_accounts",
        "opportunities_by_client_ids": "opportunities_by_account_ids",
        "probe": None,
    },
    "harvest": {
        "system": "source",
        "probe": None,  # Sources.ping: GET /v2/tasks?per_page=1
        "changed_since": None,  # time_entries(updated_since=...) covers time entries only
        "engagements_by_ids": "get_project",  # one id, raises on 404
        "engagements_by_codes": None,  # loaders index list_projects() by code
        "list_engagements": "list_projects",
        "list_assignments": "list_user_assignments",
        "assignments_by_engagement_ids": "user_assignments_by_project_ids",  # int keys
        "list_time_entries": "time_entries",  # keyword filters, project_id: int
        "time_entries_by_ids": "time_entry",  # one GET per id, int id
        "hours_by_engagement": "project_time_totals",  # int keys
    },
    "bamboohr": {
        "system": "source",
        "probe": None,  # Sources.ping: employees_by_ids(["0"])
        "resources_by_ids": "employees_by_ids",
        "list_resources": "directory",
        "list_time_off": "time_off",  # (start, end, *, status, employee_id)
    },
    "netsuite": {
        "system": "source",
        "probe": None,  # Sources.ping: SuiteQL on accountingperiod id 0
        "customers_by_client_ids": "customers_by_account_ids",
        "list_time_postings": "timebills",
    },
}


def _module(path: str) -> Any:
    """The module at `opsgraph.connectors.<path>`, or at `opsgraph.sources.<path>` before the move."""
    try:
        return importlib.import_module(f"opsgraph.connectors.{path}")
    except ModuleNotFoundError:
        return importlib.import_module(f"opsgraph.sources.{path}")


def client_for(vendor: str) -> Any:
    class_name, _ = CLIENTS[vendor]
    config = _module("base").SourceConfig(base_url="http://127.0.0.1:9", credentials=CREDENTIALS)
    return getattr(_module(f"{vendor}.client"), class_name)(config)


def port_members(port: type) -> dict[str, Any]:
    """The protocol's own members (its bases' included), by name."""
    members: dict[str, Any] = {}
    for klass in reversed(port.__mro__):
        if getattr(klass, "_is_protocol", False) and klass.__module__.startswith("opsgraph."):
            members.update({k: v for k, v in vars(klass).items() if not k.startswith("_")})
    return members


def is_write(member: Any) -> bool:
    return callable(member) and "idempotency_key" in inspect.signature(member).parameters


def params(fn: Any) -> list[tuple[str, inspect._ParameterKind]]:
    return [(p.name, p.kind) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def returns(fn: Any) -> str:
    """The return annotation as written, a `dict` counted as the `Mapping` the ports promise."""
    return str(inspect.signature(fn).return_annotation).replace("dict[", "Mapping[")


def gaps(vendor: str) -> tuple[set[str], set[str]]:
    """(missing, differing) read members of the vendor client against its role's port."""
    _, role = CLIENTS[vendor]
    client = client_for(vendor)
    missing: set[str] = set()
    differs: set[str] = set()
    for name, member in port_members(PORTS[role]).items():
        if is_write(member):
            continue
        if not hasattr(type(client), name):
            missing.add(name)
        elif isinstance(member, property):
            if not isinstance(getattr(client, name), str):
                differs.add(name)
        else:
            have = getattr(type(client), name)
            if (
                not inspect.iscoroutinefunction(have)
                or params(have) != params(member)
                or returns(have) != returns(member)
            ):
                differs.add(name)
    return missing, differs


@pytest.mark.parametrize("vendor", sorted(CLIENTS))
def test_client_gaps_against_its_port(vendor: str) -> None:
    missing, differs = gaps(vendor)
    assert (missing, differs) == (MISSING.get(vendor, set()), DIFFERS.get(vendor, set()))
    port = PORTS[CLIENTS[vendor][1]]
    assert isinstance(client_for(vendor), port) is (not missing)


@pytest.mark.parametrize("vendor", sorted(CLIENTS))
def test_rename_plan_names_what_the_client_has(vendor: str) -> None:
    """Every gap is in the plan, and every current name in it still exists on the client."""
    plan = CURRENT.get(vendor, {})
    assert set(plan) == MISSING.get(vendor, set())
    client = client_for(vendor)
    assert {n for n in plan.values() if n is not None and not hasattr(client, n)} == set()


def test_every_role_has_a_port_with_probe_and_change_polling() -> None:
    assert set(PORTS) == set(Role) == set(POLLED)
    for port in PORTS.values():
        members = port_members(port)
        assert {"system", "probe", "changed_since"} <= set(members)
        assert SystemPort in port.__mro__


@pytest.mark.parametrize("port", [CrmPort, PsaPort, HrPort, ErpPort], ids=lambda p: p.__name__)
def test_writes_take_a_keyword_only_idempotency_key(port: type) -> None:
    writes = {n: m for n, m in port_members(port).items() if is_write(m)}
    for name, member in writes.items():
        key = inspect.signature(member).parameters["idempotency_key"]
        assert key.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert key.annotation in (str, "str"), name
    expected: dict[type, set[str]] = {
        CrmPort: {"set_engagement_code", "set_opportunity_amount"},
        PsaPort: {
            "create_engagement",
            "archive_engagement",
            "assign",
            "set_engagement_budget",
            "submit_time_entries",
            "mark_time_entries_billed",
        },
        HrPort: set(),
        ErpPort: {
            "upsert_customer",
            "create_job",
            "deactivate_job",
            "set_job_contract_value",
            "post_time",
            "create_invoice",
        },
    }
    assert set(writes) == expected[port]


def test_port_modules_name_no_vendor() -> None:
    import pathlib

    import opsgraph.roles

    root = pathlib.Path(opsgraph.roles.__file__).parent
    vendors = ("salesforce", "hubspot", "harvest", "bamboo", "netsuite")
    found = {(f.name, v) for f in root.glob("*.py") for v in vendors if v in f.read_text().lower()}
    assert found == set()


# -- SourceRef --------------------------------------------------------------------------------------


def _ref(**changes: object) -> SourceRef:
    fields: dict[str, object] = {"system": "psa-emea", "role": Role.PSA, "vendor": "kantata", "id": "42"}
    return SourceRef.model_validate({**fields, **changes})


def test_source_ref_shape_and_key() -> None:
    ref = _ref()
    assert ref.model_dump() == {"system": "psa-emea", "role": Role.PSA, "vendor": "kantata", "id": "42"}
    assert str(ref) == "psa-emea:42"
    assert SourceRef.parse("psa-emea:42", role=Role.PSA, vendor="kantata") == ref
    assert SourceRef.parse("erp:eid:ab:c", role=Role.ERP, vendor="x").id == "eid:ab:c"
    assert Role("psa") is Role.PSA and [r.name for r in Role] == ["CRM", "PSA", "HR", "ERP"]


def test_source_ref_is_frozen_and_hashable() -> None:
    ref = _ref()
    with pytest.raises(ValidationError):
        ref.id = "43"  # type: ignore[misc]
    assert _ref() == ref and hash(_ref()) == hash(ref)
    assert len({ref, _ref(), _ref(id="43"), _ref(system="psa-na")}) == 3
    assert _ref(id="43") != ref and _ref(vendor="other") != ref


@pytest.mark.parametrize(
    "changes",
    [
        {"id": 42},  # ids are strings, never coerced from numbers
        {"id": ""},
        {"system": "PSA"},
        {"system": "psa:na"},
        {"system": ""},
        {"role": "billing"},
        {"vendor": ""},
        {"extra": "x"},
    ],
)
def test_source_ref_rejects(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _ref(**changes)


@pytest.mark.parametrize("key", ["no-colon", ":42", "Bad:42", "psa:"])
def test_source_ref_parse_rejects(key: str) -> None:
    with pytest.raises(ValueError):
        SourceRef.parse(key, role=Role.PSA, vendor="kantata")


# -- change batches and filters ----------------------------------------------------------------------


def test_change_batch_never_moves_the_mark_back() -> None:
    since = datetime(2026, 3, 1, 12, tzinfo=UTC)
    change = Change(id="7", kind=ChangeKind.DELETED, modified_at=since + timedelta(seconds=1))
    batch = ChangeBatch(entity=Entity.CLIENT, since=since, high_water=change.modified_at, changes=(change,))
    assert batch.changes[0].id == "7" and batch.high_water > batch.since
    with pytest.raises(ValidationError, match="high_water is before since"):
        ChangeBatch(entity=Entity.CLIENT, since=since, high_water=since - timedelta(seconds=1))
    with pytest.raises(ValidationError):
        Change.model_validate({"id": 7})


def test_filters_are_frozen_ranges() -> None:
    f = TimeEntryFilter(start=date(2026, 1, 1), end=date(2026, 1, 31), engagement_id="12")
    assert (f.start, f.end, f.is_billed) == (date(2026, 1, 1), date(2026, 1, 31), None)
    with pytest.raises(ValidationError):
        f.is_billed = True  # type: ignore[misc]
    with pytest.raises(ValidationError, match="before start"):
        TimeOffFilter(start=date(2026, 2, 1), end=date(2026, 1, 31))
    assert DateRange(start=date(2026, 1, 1), end=date(2026, 1, 1)).end == date(2026, 1, 1)
