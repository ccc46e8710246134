"""SOQL / SuiteQL compilation: compile real queries, run them on SQLite and check the exact rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from simulators.simkit.query import (
    CompiledQuery,
    QueryCompiler,
    QueryError,
    Selected,
    Table,
    compile_soql,
    compile_suiteql,
    normalise_datetime,
)

ACCOUNT = Table(
    name="Account",
    sql_table="sf_account",
    columns={
        "Id": "id",
        "Name": "name",
        "Industry": "industry",
        "AnnualRevenue": "annual_revenue",
        "SystemModstamp": "system_modstamp",
    },
    date_columns=frozenset({"SystemModstamp"}),
    datetime_columns=frozenset({"SystemModstamp"}),
)
OPPORTUNITY = Table(
    name="Opportunity",
    sql_table="sf_opportunity",
    columns={
        "Id": "id",
        "Name": "name",
        "AccountId": "account_id",
        "Amount": "amount",
        "CloseDate": "close_date",
        "StageName": "stage_name",
        "IsWon": "is_won",
        "LastModifiedDate": "last_modified",
    },
    relationships={"Account": ("Account", "AccountId")},
    date_columns=frozenset({"CloseDate", "LastModifiedDate"}),
)
SF_TABLES = {"Account": ACCOUNT, "Opportunity": OPPORTUNITY}

CUSTOMER = Table(
    name="customer",
    sql_table="ns_customer",
    columns={
        "id": "id",
        "companyname": "company_name",
        "isinactive": "is_inactive",
        "datecreated": "date_created",
        "email": "email",
    },
    date_columns=frozenset({"datecreated"}),
)
JOB = Table(
    name="job",
    sql_table="ns_job",
    columns={"id": "id", "entityid": "entity_id", "parent": "parent", "startdate": "start_date"},
    date_columns=frozenset({"startdate"}),
)
NS_TABLES = {"customer": CUSTOMER, "job": JOB}

SCHEMA = """
CREATE TABLE sf_account (id TEXT PRIMARY KEY, name TEXT, industry TEXT, annual_revenue REAL,
                         system_modstamp TEXT);
CREATE TABLE sf_opportunity (id TEXT PRIMARY KEY, name TEXT, account_id TEXT, amount REAL,
                             close_date TEXT, stage_name TEXT, is_won INTEGER, last_modified TEXT);
CREATE TABLE ns_customer (id INTEGER PRIMARY KEY, company_name TEXT, is_inactive TEXT,
                          date_created TEXT, email TEXT);
CREATE TABLE ns_job (id INTEGER PRIMARY KEY, entity_id TEXT, parent INTEGER, start_date TEXT);
"""

ACCOUNTS = [
    ("001A", "Acme Corp", "Technology", 5_000_000.0, "2025-03-31T17:02:11.000+0000"),
    ("001B", "Globex", "Finance", 1_000_000.0, "2025-01-15T08:00:00.000+0000"),
    ("001C", "Initech", None, None, "2024-12-31T23:59:59.000+0000"),
    ("001D", "O'Brien & Sons", "Technology", 250_000.0, "2025-06-01T00:00:00.000+0000"),
    ("001E", "beta labs", "Finance", 0.0, "2025-02-01T12:00:00.000+0000"),
]
OPPORTUNITIES = [
    (
        "006A",
        "Acme renewal",
        "001A",
        120_000.0,
        "2025-01-01",
        "Closed Won",
        1,
        "2025-01-02T10:00:00.000+0000",
    ),
    (
        "006B",
        "Acme expansion",
        "001A",
        80_000.0,
        "2025-02-15",
        "Negotiation",
        0,
        "2025-02-16T10:00:00.000+0000",
    ),
    (
        "006C",
        "Globex pilot",
        "001B",
        15_000.0,
        "2024-12-20",
        "Closed Lost",
        0,
        "2024-12-21T10:00:00.000+0000",
    ),
    ("006D", "Orphan deal", None, None, "2025-03-01", "Prospecting", 0, "2025-03-02T10:00:00.000+0000"),
    ("006E", "Initech 50% deal", "001C", 50_000.0, None, "Prospecting", 0, "2025-03-05T10:00:00.000+0000"),
]
CUSTOMERS = [
    (1, "Acme Corp", "F", "2024-11-05", "ap@acme.test"),
    (2, "Globex", "F", "2025-01-10", None),
    (3, "acme holdings", "T", "2025-02-20", "x@acme.test"),
    (4, "Umbrella", "F", "2025-03-01", "ops@umbrella.test"),
]
JOBS = [(10, "ACME-001", 1, "2025-01-06"), (11, "ACME-002", 1, "2025-02-03"), (12, "GLOBEX-001", 2, None)]


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO sf_account VALUES (?, ?, ?, ?, ?)", ACCOUNTS)
    conn.executemany("INSERT INTO sf_opportunity VALUES (?, ?, ?, ?, ?, ?, ?, ?)", OPPORTUNITIES)
    conn.executemany("INSERT INTO ns_customer VALUES (?, ?, ?, ?, ?)", CUSTOMERS)
    conn.executemany("INSERT INTO ns_job VALUES (?, ?, ?, ?)", JOBS)
    yield conn
    conn.close()


def execute(db: sqlite3.Connection, q: CompiledQuery) -> list[tuple[object, ...]]:
    """Run a compiled query the way a simulator would, applying LIMIT/OFFSET outside the SQL."""
    sql, params = q.sql, list(q.params)
    if q.limit is not None or q.offset is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [q.limit if q.limit is not None else -1, q.offset or 0]
    assert sql.count("?") == len(params)
    return [tuple(row) for row in db.execute(sql, params)]


def soql(db: sqlite3.Connection, text: str) -> list[tuple[object, ...]]:
    return execute(db, compile_soql(text, SF_TABLES))


def suiteql(db: sqlite3.Connection, text: str) -> list[tuple[object, ...]]:
    return execute(db, compile_suiteql(text, NS_TABLES))


def ids(rows: list[tuple[object, ...]]) -> list[object]:
    return [r[0] for r in rows]


def soql_error(text: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        compile_soql(text, SF_TABLES)
    return info.value


def suiteql_error(text: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        compile_suiteql(text, NS_TABLES)
    return info.value


# ------------------------------------------------------------------------------------------------
# SOQL: results
# ------------------------------------------------------------------------------------------------


def test_soql_basic_select_and_order(db: sqlite3.Connection) -> None:
    q = compile_soql("SELECT Id, Name FROM Opportunity ORDER BY Name", SF_TABLES)
    assert q.table is OPPORTUNITY
    assert q.selected == (Selected(("Id",), "c0"), Selected(("Name",), "c1"))
    assert (q.limit, q.offset) == (None, None)
    assert execute(db, q) == [
        ("006B", "Acme expansion"),
        ("006A", "Acme renewal"),
        ("006C", "Globex pilot"),
        ("006E", "Initech 50% deal"),
        ("006D", "Orphan deal"),
    ]
    assert "LIMIT" not in q.sql and "OFFSET" not in q.sql


def test_soql_relationship_field_left_join(db: sqlite3.Connection) -> None:
    q = compile_soql("SELECT Name, Account.Name, Account.Industry FROM Opportunity ORDER BY Name", SF_TABLES)
    assert [s.path for s in q.selected] == [("Name",), ("Account", "Name"), ("Account", "Industry")]
    assert q.sql.count("LEFT JOIN") == 1
    assert execute(db, q) == [
        ("Acme expansion", "Acme Corp", "Technology"),
        ("Acme renewal", "Acme Corp", "Technology"),
        ("Globex pilot", "Globex", "Finance"),
        ("Initech 50% deal", "Initech", None),
        ("Orphan deal", None, None),
    ]


def test_soql_relationship_in_where_and_order_by(db: sqlite3.Connection) -> None:
    rows = soql(
        db,
        "SELECT Id FROM Opportunity WHERE Account.AnnualRevenue >= 1000000 ORDER BY Account.Name DESC, Name",
    )
    assert ids(rows) == ["006C", "006B", "006A"]


def test_soql_case_insensitive_names(db: sqlite3.Connection) -> None:
    q = compile_soql(
        "select ID, name, account.NAME from OPPORTUNITY where STAGENAME = 'closed won' order by NAME",
        SF_TABLES,
    )
    assert [s.path for s in q.selected] == [("Id",), ("Name",), ("Account", "Name")]
    assert q.table.name == "Opportunity"
    assert execute(db, q) == [("006A", "Acme renewal", "Acme Corp")]


def test_soql_string_comparison_is_case_insensitive_but_ids_are_exact(db: sqlite3.Connection) -> None:
    assert ids(soql(db, "SELECT Id FROM Account WHERE Industry = 'TECHNOLOGY' ORDER BY Id")) == [
        "001A",
        "001D",
    ]
    assert soql(db, "SELECT Id FROM Account WHERE Id = '001a'") == []
    assert ids(soql(db, "SELECT Id FROM Account WHERE Id = '001A'")) == ["001A"]


def test_soql_order_by_is_case_insensitive(db: sqlite3.Connection) -> None:
    rows = soql(db, "SELECT Name FROM Account ORDER BY Name")
    assert ids(rows) == ["Acme Corp", "beta labs", "Globex", "Initech", "O'Brien & Sons"]


def test_soql_date_literals(db: sqlite3.Connection) -> None:
    q = compile_soql(
        "SELECT Id FROM Opportunity WHERE CloseDate >= 2025-01-01 AND CloseDate < 2025-03-01 "
        "ORDER BY CloseDate",
        SF_TABLES,
    )
    assert q.params == ("2025-01-01", "2025-03-01")
    assert ids(execute(db, q)) == ["006A", "006B"]
    assert ids(soql(db, "SELECT Id FROM Opportunity WHERE CloseDate = 2024-12-20")) == ["006C"]
    assert ids(
        soql(db, "SELECT Id FROM Opportunity WHERE CloseDate IN (2025-01-01, 2025-03-01) ORDER BY Id")
    ) == [
        "006A",
        "006D",
    ]


@pytest.mark.parametrize(
    "literal",
    [
        "2025-03-31T17:02:10Z",
        "2025-03-31T17:02:10.000Z",
        "2025-03-31T17:02:10.000+0000",
        "2025-03-31T19:02:10+02:00",
        "2025-03-31T19:02:10.000+0200",
        "2025-03-31T12:02:10-05:00",
    ],
)
def test_soql_datetime_literals_are_normalised_to_utc(db: sqlite3.Connection, literal: str) -> None:
    q = compile_soql(f"SELECT Id FROM Account WHERE SystemModstamp > {literal} ORDER BY Id", SF_TABLES)
    assert q.params == ("2025-03-31T17:02:10.000+0000",)
    assert ids(execute(db, q)) == ["001A", "001D"]


def test_soql_datetime_literal_milliseconds_and_day_rollover() -> None:
    q = compile_soql("SELECT Id FROM Account WHERE SystemModstamp < 2025-01-01T01:30:00.5+02:00", SF_TABLES)
    assert q.params == ("2024-12-31T23:30:00.500+0000",)
    moment = datetime(2025, 1, 1, 1, 30, 0, 500_000, tzinfo=timezone(timedelta(hours=2)))
    assert normalise_datetime(moment) == "2024-12-31T23:30:00.500+0000"


def test_soql_datetime_on_date_or_datetime_field(db: sqlite3.Connection) -> None:
    # LastModifiedDate is only in date_columns, so both literal kinds are accepted
    rows = soql(db, "SELECT Id FROM Opportunity WHERE LastModifiedDate >= 2025-03-02T10:00:00Z ORDER BY Id")
    assert ids(rows) == ["006D", "006E"]


def test_quoted_date_text_is_not_rewritten(db: sqlite3.Connection) -> None:
    q = compile_soql(
        "SELECT Id FROM Opportunity WHERE Name = '2025-01-01' OR Name = 'x 2025-01-01T00:00:00Z'", SF_TABLES
    )
    assert q.params == ("2025-01-01", "x 2025-01-01T00:00:00Z")
    assert execute(db, q) == []
    # ... and a quoted date is a string, which a date field rejects
    assert soql_error("SELECT Id FROM Opportunity WHERE CloseDate = '2025-01-01'").code == "INVALID_FIELD"


def test_soql_in_and_not_in(db: sqlite3.Connection) -> None:
    rows = soql(db, "SELECT Id FROM Opportunity WHERE StageName IN ('Closed Won', 'Closed Lost') ORDER BY Id")
    assert ids(rows) == ["006A", "006C"]
    # SOQL: a null field is "not in" any list
    rows = soql(db, "SELECT Id FROM Account WHERE Industry NOT IN ('Technology') ORDER BY Id")
    assert ids(rows) == ["001B", "001C", "001E"]


def test_soql_and_or_precedence_with_parentheses(db: sqlite3.Connection) -> None:
    rows = soql(
        db,
        "SELECT Id FROM Opportunity "
        "WHERE (StageName = 'Prospecting' OR Amount > 100000) AND AccountId != null ORDER BY Id",
    )
    assert ids(rows) == ["006A", "006E"]
    rows = soql(
        db,
        "SELECT Id FROM Opportunity "
        "WHERE StageName = 'Prospecting' OR (Amount > 100000 AND AccountId != null) ORDER BY Id",
    )
    assert ids(rows) == ["006A", "006D", "006E"]
    # SOQL refuses to guess: mixing AND and OR needs parentheses
    err = soql_error(
        "SELECT Id FROM Opportunity WHERE StageName = 'Prospecting' OR Amount > 1 AND IsWon = true"
    )
    assert err.code == "MALFORMED_QUERY"


def test_soql_null_comparisons(db: sqlite3.Connection) -> None:
    q = compile_soql("SELECT Id FROM Opportunity WHERE AccountId = null", SF_TABLES)
    assert "IS NULL" in q.sql and q.params == ()
    assert ids(execute(db, q)) == ["006D"]
    rows = soql(db, "SELECT Id FROM Opportunity WHERE CloseDate != null ORDER BY Id")
    assert ids(rows) == ["006A", "006B", "006C", "006D"]
    rows = soql(db, "SELECT Id FROM Opportunity WHERE Account.Name = null")
    assert ids(rows) == ["006D"]


def test_soql_not_equal_and_not_include_nulls(db: sqlite3.Connection) -> None:
    rows = soql(db, "SELECT Id FROM Opportunity WHERE Account.Industry != 'Technology' ORDER BY Id")
    assert ids(rows) == ["006C", "006D", "006E"]
    rows = soql(db, "SELECT Id FROM Account WHERE Industry <> 'technology' ORDER BY Id")
    assert ids(rows) == ["001B", "001C", "001E"]
    rows = soql(db, "SELECT Id FROM Account WHERE NOT Industry = 'Technology' ORDER BY Id")
    assert ids(rows) == ["001B", "001C", "001E"]
    rows = soql(
        db, "SELECT Id FROM Account WHERE NOT (Industry = 'Finance' OR AnnualRevenue > 1000000) ORDER BY Id"
    )
    assert ids(rows) == ["001C", "001D"]


def test_soql_like_and_escapes(db: sqlite3.Connection) -> None:
    assert ids(soql(db, "SELECT Id FROM Opportunity WHERE Name LIKE 'acme%' ORDER BY Id")) == ["006A", "006B"]
    assert ids(soql(db, "SELECT Id FROM Opportunity WHERE Name LIKE '%50\\%%'")) == ["006E"]
    assert soql(db, "SELECT Id FROM Opportunity WHERE Name LIKE 'Acme\\_%'") == []
    rows = soql(db, "SELECT Id FROM Opportunity WHERE NOT Name LIKE '%deal' ORDER BY Id")
    assert ids(rows) == ["006A", "006B", "006C"]
    assert ids(soql(db, "SELECT Id FROM Account WHERE Name = 'O\\'Brien & Sons'")) == ["001D"]


def test_soql_booleans_and_numbers(db: sqlite3.Connection) -> None:
    q = compile_soql("SELECT Id FROM Opportunity WHERE IsWon = TRUE", SF_TABLES)
    assert q.params == (1,)
    assert ids(execute(db, q)) == ["006A"]
    assert len(soql(db, "SELECT Id FROM Opportunity WHERE IsWon = false")) == 4
    assert ids(soql(db, "SELECT Id FROM Opportunity WHERE Amount >= 50000.5 ORDER BY Id")) == ["006A", "006B"]
    assert ids(soql(db, "SELECT Id FROM Account WHERE AnnualRevenue > -1 AND AnnualRevenue < 1 ")) == ["001E"]


def test_soql_limit_offset(db: sqlite3.Connection) -> None:
    q = compile_soql("SELECT Id FROM Opportunity ORDER BY Id LIMIT 2 OFFSET 1", SF_TABLES)
    assert (q.limit, q.offset) == (2, 1)
    assert ids(execute(db, q)) == ["006B", "006C"]
    q = compile_soql("SELECT Id FROM Opportunity ORDER BY Id OFFSET 4", SF_TABLES)
    assert (q.limit, q.offset) == (None, 4)
    assert ids(execute(db, q)) == ["006E"]


def test_soql_nulls_sort_first_by_default(db: sqlite3.Connection) -> None:
    rows = soql(db, "SELECT Id FROM Opportunity ORDER BY CloseDate DESC")
    assert ids(rows) == ["006E", "006D", "006B", "006A", "006C"]
    rows = soql(db, "SELECT Id FROM Opportunity ORDER BY CloseDate DESC NULLS LAST")
    assert ids(rows) == ["006D", "006B", "006A", "006C", "006E"]
    rows = soql(db, "SELECT Id FROM Opportunity ORDER BY CloseDate ASC NULLS LAST, Id")
    assert ids(rows) == ["006C", "006A", "006B", "006D", "006E"]


def test_soql_table_alias(db: sqlite3.Connection) -> None:
    q = compile_soql(
        "SELECT o.Name, o.Account.Name FROM Opportunity o WHERE o.Account.Name = 'globex'", SF_TABLES
    )
    assert [s.path for s in q.selected] == [("Name",), ("Account", "Name")]
    assert execute(db, q) == [("Globex pilot", "Globex")]
    assert ids(soql(db, "SELECT Account.Name FROM Account WHERE Account.Id = '001B'")) == ["Globex"]


def test_injection_attempts_return_nothing(db: sqlite3.Connection) -> None:
    # SOQL does not double quotes: two adjacent strings are a syntax error
    assert soql_error("SELECT Id FROM Opportunity WHERE Name = 'x'' OR 1=1 --'").code == "MALFORMED_QUERY"
    q = compile_soql("SELECT Id FROM Opportunity WHERE Name = 'x\\' OR 1=1 --'", SF_TABLES)
    assert q.params == ("x' OR 1=1 --",)
    assert execute(db, q) == []
    q = compile_suiteql("SELECT id FROM customer WHERE companyname = 'x'' OR 1=1 --'", NS_TABLES)
    assert q.params == ("x' OR 1=1 --",)
    assert execute(db, q) == []
    assert "1=1" not in q.sql


def test_all_literals_are_parameters() -> None:
    q = compile_soql(
        "SELECT Id FROM Opportunity WHERE Name = 'secret' AND Amount > 12345 AND CloseDate < 2031-02-03 "
        "AND StageName IN ('zzz', 'yyy') AND Name LIKE 'pat%'",
        SF_TABLES,
    )
    for value in ("secret", "12345", "2031", "zzz", "yyy", "pat"):
        assert value not in q.sql
    assert q.params == ("secret", 12345, "2031-02-03", "zzz", "yyy", "pat%")


# ------------------------------------------------------------------------------------------------
# SOQL: errors
# ------------------------------------------------------------------------------------------------


def test_soql_unknown_field() -> None:
    err = soql_error("SELECT Id, Foo FROM Account")
    assert err.code == "INVALID_FIELD"
    assert err.message.startswith(
        "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name."
    )
    err = soql_error("SELECT Id FROM Opportunity WHERE Account.Bogus = 'x'")
    assert err.code == "INVALID_FIELD"
    assert err.message.startswith("No such column 'Bogus' on entity 'Account'.")
    assert soql_error("SELECT Id FROM Opportunity ORDER BY Nope").code == "INVALID_FIELD"
    err = soql_error("SELECT Owner.Name FROM Opportunity")
    assert err.code == "INVALID_FIELD"
    assert "Didn't understand relationship 'Owner'" in err.message


def test_soql_unknown_object() -> None:
    err = soql_error("SELECT Id FROM Foo")
    assert err.code == "INVALID_TYPE"
    assert err.message.startswith("sObject type 'Foo' is not supported.")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT COUNT() FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT COUNT(Id) FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT SUM(Amount) FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity)", "MALFORMED_QUERY"),
        ("SELECT Id, (SELECT Id FROM Opportunities) FROM Account", "MALFORMED_QUERY"),
        ("SELECT StageName FROM Opportunity GROUP BY StageName", "MALFORMED_QUERY"),
        ("SELECT StageName FROM Opportunity HAVING Amount > 1", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account; SELECT Id FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account;", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "MALFORMED_QUERY"),
        ('SELECT Id FROM Account WHERE Name = "double"', "MALFORMED_QUERY"),
        ("SELECT * FROM Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:30", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = TODAY", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = 2025-02-30", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE CloseDate > 2025-01-01T10:00", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE Name = Id", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = 2025", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE AccountId IS NULL", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE Amount > null", "MALFORMED_QUERY"),
        ("SELECT Id, Account.Owner.Name FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id, id FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity, Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity o JOIN Account a ON o.AccountId = a.Id", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity UNION SELECT Id FROM Account", "MALFORMED_QUERY"),
        ("SELECT DISTINCT Name FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity FOR UPDATE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity LIMIT 'ten'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity LIMIT 1.5", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE Amount = 1 -- comment", "MALFORMED_QUERY"),
        ("SELECT Id Ident FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE Amount = 1 + 1", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE Name = 'a\\%'", "MALFORMED_QUERY"),
        ("DELETE FROM Opportunity", "MALFORMED_QUERY"),
        ("UPDATE Opportunity SET Name = 'x'", "MALFORMED_QUERY"),
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT FROM Opportunity", "MALFORMED_QUERY"),
        ("", "MALFORMED_QUERY"),
        ("   ", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE Name = 2025-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = '2025-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE SystemModstamp > 2025-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunity WHERE CloseDate LIKE '2025%'", "INVALID_FIELD"),
    ],
)
def test_soql_rejections(text: str, code: str) -> None:
    assert soql_error(text).code == code


# ------------------------------------------------------------------------------------------------
# SuiteQL
# ------------------------------------------------------------------------------------------------


def test_suiteql_basic_case_insensitive(db: sqlite3.Connection) -> None:
    q = compile_suiteql(
        "SELECT ID, CompanyName FROM Customer WHERE IsInactive = 'F' ORDER BY id DESC", NS_TABLES
    )
    assert [s.path for s in q.selected] == [("id",), ("companyname",)]
    assert q.params == ("F",)
    assert execute(db, q) == [(4, "Umbrella"), (2, "Globex"), (1, "Acme Corp")]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE isinactive = 'T'")) == [3]


def test_suiteql_star_and_alias(db: sqlite3.Connection) -> None:
    q = compile_suiteql("SELECT * FROM job WHERE parent = 1 ORDER BY id", NS_TABLES)
    assert [s.path for s in q.selected] == [("id",), ("entityid",), ("parent",), ("startdate",)]
    assert execute(db, q) == [(10, "ACME-001", 1, "2025-01-06"), (11, "ACME-002", 1, "2025-02-03")]
    rows = suiteql(db, "SELECT c.id, c.companyname FROM customer AS c WHERE c.id IN (2, 3) ORDER BY c.id")
    assert rows == [(2, "Globex"), (3, "acme holdings")]
    assert ids(suiteql(db, "SELECT customer.id FROM customer WHERE customer.id = 4")) == [4]


def test_suiteql_like_is_case_sensitive(db: sqlite3.Connection) -> None:
    assert ids(suiteql(db, "SELECT id FROM customer WHERE companyname LIKE 'Acme%'")) == [1]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE companyname LIKE '%acme%'")) == [3]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE companyname LIKE '_lobe_'")) == [2]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE companyname NOT LIKE '%e%' ORDER BY id")) == []
    assert ids(suiteql(db, "SELECT id FROM customer WHERE companyname NOT LIKE 'A%' ORDER BY id")) == [
        2,
        3,
        4,
    ]


def test_suiteql_three_valued_nulls(db: sqlite3.Connection) -> None:
    assert ids(suiteql(db, "SELECT id FROM customer WHERE email IS NULL")) == [2]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE email IS NOT NULL ORDER BY id")) == [1, 3, 4]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE email != 'ap@acme.test' ORDER BY id")) == [3, 4]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE email NOT IN ('x@acme.test') ORDER BY id")) == [
        1,
        4,
    ]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE NOT (email = 'x@acme.test') ORDER BY id")) == [1, 4]
    # Oracle: '' is NULL, so it never compares equal (or unequal)
    assert suiteql(db, "SELECT id FROM customer WHERE email = ''") == []
    assert suiteql(db, "SELECT id FROM customer WHERE email <> ''") == []


def test_suiteql_precedence(db: sqlite3.Connection) -> None:
    rows = suiteql(
        db, "SELECT id FROM customer WHERE isinactive = 'T' OR id = 1 AND email IS NOT NULL ORDER BY id"
    )
    assert ids(rows) == [1, 3]
    rows = suiteql(db, "SELECT id FROM customer WHERE (isinactive = 'T' OR id = 2) AND email IS NOT NULL")
    assert ids(rows) == [3]


def test_suiteql_dates(db: sqlite3.Connection) -> None:
    q = compile_suiteql(
        "SELECT id FROM customer WHERE datecreated >= TO_DATE('2025-01-01', 'YYYY-MM-DD') ORDER BY id",
        NS_TABLES,
    )
    assert q.params == ("2025-01-01",)
    assert ids(execute(db, q)) == [2, 3, 4]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE datecreated < '1/15/2025' ORDER BY id")) == [1, 2]
    assert ids(suiteql(db, "SELECT id FROM customer WHERE datecreated = '2025-03-01'")) == [4]
    rows = suiteql(db, "SELECT id FROM customer WHERE datecreated = TO_DATE('02/20/2025', 'MM/DD/YYYY')")
    assert ids(rows) == [3]


def test_suiteql_nulls_sort_like_oracle(db: sqlite3.Connection) -> None:
    assert ids(suiteql(db, "SELECT id FROM job ORDER BY startdate")) == [10, 11, 12]
    assert ids(suiteql(db, "SELECT id FROM job ORDER BY startdate DESC")) == [12, 11, 10]
    assert ids(suiteql(db, "SELECT id FROM job ORDER BY startdate DESC NULLS LAST")) == [11, 10, 12]
    assert ids(suiteql(db, "SELECT id FROM job ORDER BY startdate NULLS FIRST")) == [12, 10, 11]


def test_suiteql_limit_offset(db: sqlite3.Connection) -> None:
    q = compile_suiteql("SELECT id FROM customer ORDER BY id LIMIT 2 OFFSET 2", NS_TABLES)
    assert (q.limit, q.offset) == (2, 2)
    assert ids(execute(db, q)) == [3, 4]


def test_suiteql_unknown_field_and_record() -> None:
    err = suiteql_error("SELECT id, foo FROM customer")
    assert err.code == "INVALID_FIELD"
    assert err.message == (
        "Invalid search query. Detailed unprocessed description follows. "
        "Search error occurred: Field 'foo' for record 'customer' was not found."
    )
    err = suiteql_error("SELECT id FROM foo")
    assert err.code == "INVALID_FIELD"
    assert "Record 'foo' was not found." in err.message


@pytest.mark.parametrize(
    "text",
    [
        "SELECT id FROM customer WHERE id IN (SELECT parent FROM job)",
        "SELECT c.id FROM customer c JOIN job j ON j.parent = c.id",
        "SELECT c.id FROM customer c, job j",
        "SELECT id FROM customer; SELECT id FROM job",
        "SELECT id FROM customer;",
        "SELECT id FROM customer WHERE companyname = 'unterminated",
        "SELECT id FROM customer WHERE isinactive = true",
        "SELECT id FROM customer WHERE datecreated > 'yesterday'",
        "SELECT id FROM customer WHERE datecreated > TO_DATE('2025', 'YYYY')",
        "SELECT id FROM customer WHERE BUILTIN.DF(isinactive) = 'x'",
        "SELECT UPPER(companyname) FROM customer",
        'SELECT "id" FROM customer',
        "SELECT *, id FROM customer",
        "SELECT id FROM customer WHERE id = ?",
        "SELECT id FROM customer WHERE job.id = 1",
        "SELECT id FROM customer WHERE companyname LIKE 'a%' ESCAPE '\\'",
        "SELECT id FROM customer UNION SELECT id FROM job",
        "SELECT id FROM customer ORDER BY 1",
        "DELETE FROM customer",
        "INSERT INTO customer (id) VALUES (9)",
        "DROP TABLE customer",
    ],
)
def test_suiteql_rejections(text: str) -> None:
    err = suiteql_error(text)
    assert err.code == "MALFORMED_QUERY"
    assert err.message.startswith("Invalid search query.")


def test_suiteql_sums_and_counts_per_group(db: sqlite3.Connection) -> None:
    q = compile_suiteql(
        "SELECT parent AS customer, COUNT(*), MIN(startdate) AS first, SUM(id) FROM job "
        "WHERE id >= 10 GROUP BY parent ORDER BY parent",
        NS_TABLES,
    )
    assert [(s.name, s.function) for s in q.selected] == [
        ("customer", None),
        ("expr1", "COUNT"),
        ("first", "MIN"),
        ("expr2", "SUM"),
    ]
    assert [s.path for s in q.selected] == [("parent",), (), ("startdate",), ("id",)]
    assert execute(db, q) == [(1, 2, "2025-01-06", 21), (2, 1, None, 12)]
    assert suiteql(db, "SELECT COUNT(id), MAX(startdate) FROM job") == [(3, "2025-02-03")]
    assert suiteql(db, "SELECT COUNT(*) FROM job WHERE id = 99") == [(0,)]  # one group of no rows
    assert suiteql(db, "SELECT id AS key FROM customer WHERE id = 2") == [(2,)]
    # a group key that is null is a group of its own (Oracle), sorted last ascending
    rows = suiteql(db, "SELECT startdate, COUNT(*) FROM job GROUP BY startdate ORDER BY startdate")
    assert rows == [("2025-01-06", 1), ("2025-02-03", 1), (None, 1)]


def test_suiteql_groups_by_a_case(db: sqlite3.Connection) -> None:
    recent = "CASE WHEN startdate >= TO_DATE('2025-02-01', 'YYYY-MM-DD') THEN startdate END"
    q = compile_suiteql(
        f"SELECT parent, {recent} AS recent, COUNT(*) FROM job WHERE id >= 10 "
        f"GROUP BY parent, {recent} ORDER BY parent, recent",
        NS_TABLES,
    )
    assert q.params == ("2025-02-01", 10, "2025-02-01")  # in the order of the SQL's clauses
    assert [(s.name, s.path, s.function) for s in q.selected] == [
        ("parent", ("parent",), None),
        ("recent", ("startdate",), None),
        ("expr1", (), "COUNT"),
    ]
    assert execute(db, q) == [(1, "2025-02-03", 1), (1, None, 1), (2, None, 1)]  # Oracle: nulls last
    other = recent.replace("2025-02-01", "2025-03-01")
    err = suiteql_error(f"SELECT {recent}, COUNT(*) FROM job GROUP BY {other}")
    assert "not a GROUP BY expression: 'startdate'" in err.message
    assert (
        "one field"
        in suiteql_error("SELECT CASE WHEN id > 1 THEN startdate ELSE parent END FROM job").message
    )
    assert "must be a field" in suiteql_error("SELECT CASE WHEN id > 1 THEN 'x' END FROM job").message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("SELECT id, COUNT(*) FROM job", "not a GROUP BY expression: 'id'"),
        ("SELECT id FROM job GROUP BY parent", "not a GROUP BY expression: 'id'"),
        ("SELECT parent, COUNT(*) FROM job GROUP BY parent ORDER BY id", "not a GROUP BY expression"),
        ("SELECT * FROM job GROUP BY id", "'*' cannot be selected with GROUP BY"),
        ("SELECT SUM(*) FROM job", "SUM takes one field"),
        ("SELECT SUM(id + 1) FROM job", "SUM takes one field"),
        ("SELECT COUNT(DISTINCT parent) FROM job", "COUNT takes one field or *"),
        ("SELECT parent FROM job GROUP BY parent HAVING COUNT(*) > 1", "HAVING is not supported"),
        ("SELECT parent FROM job GROUP BY UPPER(entityid)", "GROUP BY takes fields only"),
        ("SELECT SUM(nosuch) FROM job", "Field 'nosuch' for record 'job' was not found"),
    ],
)
def test_suiteql_aggregate_rejections(text: str, fragment: str) -> None:
    assert fragment in suiteql_error(text).message


def test_aggregates_are_suiteql_only_unless_allowed() -> None:
    with pytest.raises(QueryError, match="aggregate and function calls are not supported"):
        compile_soql("SELECT COUNT(Id) FROM Account", SF_TABLES)
    conditions_only = QueryCompiler(NS_TABLES, "suiteql", aggregates=False)
    with pytest.raises(QueryError, match="GROUP BY is not supported"):
        conditions_only.compile("SELECT parent FROM job GROUP BY parent")
    with pytest.raises(QueryError, match="column aliases are not supported"):
        conditions_only.compile("SELECT id AS x FROM job")


# ------------------------------------------------------------------------------------------------
# QueryCompiler
# ------------------------------------------------------------------------------------------------


def test_compiler_caches_and_evicts(db: sqlite3.Connection) -> None:
    compiler = QueryCompiler(SF_TABLES, "soql", cache_size=2)
    first = compiler.compile("SELECT Id FROM Account")
    assert compiler.compile("SELECT Id FROM Account") is first
    compiler.compile("SELECT Name FROM Account")
    compiler.compile("SELECT Industry FROM Account")  # evicts the oldest entry
    assert compiler.compile("SELECT Id FROM Account") is not first
    assert compiler.compile("SELECT Id FROM Account") == first
    with pytest.raises(QueryError):
        compiler.compile("SELECT Nope FROM Account")
    assert len(execute(db, first)) == len(ACCOUNTS)


def test_deep_nesting_and_long_in_lists() -> None:
    deep = "SELECT Id FROM Account WHERE " + "(" * 5000 + "Name = 'x'" + ")" * 5000
    assert soql_error(deep).code == "MALFORMED_QUERY"
    many = ", ".join(f"'001{i:015d}'" for i in range(2000))
    q = compile_soql(f"SELECT Id FROM Account WHERE Id IN ({many})", SF_TABLES)
    assert len(q.params) == 2000


def test_compiler_rejects_unknown_dialect() -> None:
    with pytest.raises(ValueError):
        QueryCompiler(SF_TABLES, "sql")  # type: ignore[arg-type]


def test_compiler_caches_by_text() -> None:
    """Speed is measured in benchmarks; here we check the cache is really used."""
    text = (
        "SELECT Id, Name, Account.Name, CloseDate FROM Opportunity WHERE CloseDate >= 2025-01-01 "
        "AND StageName IN ('Prospecting', 'Negotiation') ORDER BY CloseDate DESC, Id LIMIT 200 OFFSET 400"
    )
    cached = QueryCompiler(SF_TABLES, "soql")
    assert cached.compile(text) is cached.compile(text)
    uncached = QueryCompiler(SF_TABLES, "soql", cache_size=0)
    first, second = uncached.compile(text), uncached.compile(text)
    assert first is not second and first == second
