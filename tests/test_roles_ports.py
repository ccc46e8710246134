"""Role ports: every registered client offers each read member of its role's port under the port's name
and shape (parameter names and kinds, async, and the return annotation as written), and is an instance
of the port. Writes are checked by the conformance suites (`tests/conformance/`), which call them.
"""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from opsgraph.connectors.base import SourceClient, SourceConfig
from opsgraph.connectors.registry import default_registry
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

CREDENTIALS = {
    "access_token": "t",
    "account_id": "1",
    "api_key": "k",
    "company_domain": "acme",
    "client_id": "c",
    "client_secret": "s",
    "refresh_token": "r",
    "tenant": "acme",
    "sender_id": "sender",
    "sender_password": "sp",
    "user_id": "u",
    "company_id": "acme",
    "user_password": "up",
}
VENDORS = default_registry().vendors()


def client_for(vendor: str) -> SourceClient:
    """The vendor's client as the gateway builds it (nothing is called: the port is read off it)."""
    connector = default_registry().get(vendor)
    config = SourceConfig(base_url="http://127.0.0.1:9", credentials=CREDENTIALS)
    return connector.client(config, system=f"{connector.role.value}-ports")


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


def gaps(vendor: str) -> dict[str, str]:
    """{port read member: what is wrong with the client's} for the vendor's client against its port."""
    client = client_for(vendor)
    out: dict[str, str] = {}
    for name, member in port_members(PORTS[client.role]).items():
        if is_write(member):
            continue
        if not hasattr(type(client), name):
            out[name] = "missing"
        elif isinstance(member, property):
            if not isinstance(getattr(client, name), str):
                out[name] = "not a str property"
        else:
            have = getattr(type(client), name)
            if not inspect.iscoroutinefunction(have):
                out[name] = "not async"
            elif params(have) != params(member):
                out[name] = f"parameters {params(have)}, the port's {params(member)}"
            elif returns(have) != returns(member):
                out[name] = f"returns {returns(have)}, the port's {returns(member)}"
    return out


@pytest.mark.parametrize("vendor", VENDORS)
def test_client_has_every_read_member_of_its_port(vendor: str) -> None:
    assert gaps(vendor) == {}


@pytest.mark.parametrize("vendor", VENDORS)
def test_client_is_its_port_and_names_its_system(vendor: str) -> None:
    connector = default_registry().get(vendor)
    client = client_for(vendor)
    port = PORTS[connector.role]
    assert (client.vendor, client.role, client.system) == (
        vendor,
        connector.role,
        f"{connector.role.value}-ports",
    )
    reads = [name for name, member in port_members(port).items() if not is_write(member)]
    missing = sorted(name for name in reads if not hasattr(type(client), name))
    assert missing == [], f"{type(client).__name__} lacks these {port.__name__} read members"
    # The writes arrive with the workflows issue; `isinstance(client, port)` holds once a kit has them all.
    if all(hasattr(type(client), name) for name in port_members(port)):
        assert isinstance(client, port)


def test_every_role_has_a_connector() -> None:
    assert {default_registry().get(v).role for v in VENDORS} == set(Role)


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
            "delete_invoice",
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
