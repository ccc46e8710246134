"""Compile a whitelisted subset of SOQL and SuiteQL into parameterised SQLite SQL.

The vendor simulators keep their state in SQLite. Queries are parsed with sqlglot (never string
matching) and the syntax tree is translated node by node: any node type or argument that is not
explicitly handled raises `QueryError('MALFORMED_QUERY', ...)`, so an unsupported construct can never
be silently ignored. Every literal becomes a `?` parameter and every identifier in the generated SQL
comes from the `Table` definitions, so the output is injection-free by construction.

Supported: ``SELECT f, Rel.f FROM obj [alias] [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n]`` with
``= != <> < <= > >= IN, NOT IN, LIKE, AND, OR, NOT`` and parentheses. Field, object and relationship
names are case-insensitive.

Dialect semantics reproduced on SQLite:

* SOQL: unquoted date (``2025-01-01``) and datetime (``2025-03-31T17:02:11Z``,
  ``...T17:02:11.5+02:00``) literals; ``= null`` / ``!= null``; ``true``/``false`` -> 1/0; ``\\``
  escapes in strings; relationship fields one level deep (LEFT JOIN); two-valued null logic (a null
  field never equals a value, so ``!=``, ``NOT IN`` and ``NOT (...)`` include rows where it is null);
  case-insensitive string comparison and sorting (except ``...Id`` fields); nulls sort first unless
  ``NULLS LAST``; AND and OR may not be mixed without parentheses.
* SuiteQL: Oracle semantics - three-valued null logic, ``IS [NOT] NULL``, case-sensitive ``LIKE``
  (run as GLOB), ``''`` is NULL, nulls sort last ascending / first descending, ``SELECT *``, an
  optional table alias, and ``TO_DATE('...', 'YYYY-MM-DD')``. Aggregates as in Oracle:
  ``SUM``, ``COUNT`` (of a field or ``*``), ``MIN``, ``MAX`` and ``AVG`` of a field, with ``GROUP BY``
  fields or ``CASE WHEN <condition> THEN field [ELSE field] END`` (every result one field); every
  selected item that is not aggregated must be grouped (ORA-00979), and ORDER BY may only name grouped
  fields or a select item's alias. Select items may carry an alias (``SUM(x) AS total``); a result
  column is named by its alias, lower-cased, else by its field, else ``expr1``, ``expr2``... in select
  order, as SuiteQL names an unaliased expression. (``HAVING``, ``DISTINCT`` and expressions inside
  an aggregate are not supported.)

Datetime literals are normalised to ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` in UTC (Salesforce's own output
form, see `normalise_datetime`) and dates to ``YYYY-MM-DD``. Simulators must store temporal values in
exactly these forms so that SQLite's string comparison orders them correctly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final, Literal, NoReturn

from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError
from sqlglot.parser import Parser
from sqlglot.tokenizer_core import TokenType
from sqlglot.tokens import Tokenizer

__all__ = [
    "CompiledQuery",
    "QueryCompiler",
    "QueryDialect",
    "QueryError",
    "Selected",
    "Table",
    "compile_soql",
    "compile_suiteql",
    "normalise_datetime",
]

QueryDialect = Literal["soql", "suiteql"]

MALFORMED_QUERY: Final = "MALFORMED_QUERY"
INVALID_FIELD: Final = "INVALID_FIELD"
INVALID_TYPE: Final = "INVALID_TYPE"

_NS_PREFIX: Final = "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
_WSDL_HINT: Final = "Please reference your WSDL or the describe call for the appropriate names."


class QueryError(Exception):
    """A query the simulator rejects; `code` is MALFORMED_QUERY, INVALID_FIELD or INVALID_TYPE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"QueryError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class Table:
    """A queryable vendor object backed by one SQLite table.

    `date_columns` lists temporal fields; a field also listed in `datetime_columns` only accepts
    datetime literals in SOQL (a field only in `date_columns` accepts date and datetime literals).
    """

    name: str
    sql_table: str
    columns: Mapping[str, str]
    relationships: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    date_columns: frozenset[str] = frozenset()
    datetime_columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Selected:
    """One selected item: its canonical vendor path (the aggregated field's, `()` for ``COUNT(*)``),
    the result column alias in the SQL, the aggregate function applied (upper case) if any, and the
    name the vendor gives the result column (`name`)."""

    path: tuple[str, ...]
    column: str
    function: str | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label if self.label is not None else self.path[-1]


@dataclass(frozen=True)
class CompiledQuery:
    """SQLite SQL (without LIMIT/OFFSET) plus its parameters, selected fields and paging."""

    table: Table
    sql: str
    params: tuple[object, ...]
    selected: tuple[Selected, ...]
    limit: int | None
    offset: int | None


def compile_soql(text: str, tables: Mapping[str, Table]) -> CompiledQuery:
    """Compile a SOQL query against `tables` (uncached; use `QueryCompiler` to cache)."""
    return QueryCompiler(tables, "soql", cache_size=0).compile(text)


def compile_suiteql(text: str, tables: Mapping[str, Table]) -> CompiledQuery:
    """Compile a SuiteQL query against `tables` (uncached; use `QueryCompiler` to cache)."""
    return QueryCompiler(tables, "suiteql", cache_size=0).compile(text)


def normalise_datetime(value: datetime) -> str:
    """Format an aware datetime the way datetime literals are normalised: UTC, millisecond precision."""
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class _Index:
    """Case-insensitive lookups for one Table."""

    table: Table
    columns: dict[str, str]  # lower-case vendor field -> canonical vendor field
    relationships: dict[str, str]  # lower-case relationship name -> canonical relationship name
    key_field: str | None  # canonical vendor field the table is joined on ('Id' / 'id')


@dataclass(frozen=True)
class _Item:
    """A compiled select or GROUP BY item: its field's path, SQL, the SQL's `?` parameters, the
    aggregate applied and the item's alias."""

    path: tuple[str, ...]
    sql: str
    params: tuple[object, ...] = ()
    function: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class _Field:
    path: tuple[str, ...]
    name: str  # canonical vendor field
    sql: str  # qualified SQLite column
    index: _Index


class QueryCompiler:
    """Compiles queries of one dialect against a fixed set of tables, caching results by query text."""

    def __init__(
        self,
        tables: Mapping[str, Table],
        dialect: QueryDialect,
        *,
        cache_size: int = 1024,
        aggregates: bool | None = None,
    ) -> None:
        """`aggregates`: allow aggregates, aliases, CASE and GROUP BY (default: SuiteQL only)."""
        if dialect not in ("soql", "suiteql"):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.dialect: QueryDialect = dialect
        self.aggregates = dialect == "suiteql" if aggregates is None else aggregates
        self.tables = tables
        self._cache_size = cache_size
        self._cache: dict[str, CompiledQuery] = {}
        self._indexes: dict[str, _Index] = {}
        key = "id" if dialect == "suiteql" else "Id"
        for alias, table in tables.items():
            lower = {f.lower(): f for f in table.columns}
            idx = _Index(
                table=table,
                columns=lower,
                relationships={r.lower(): r for r in table.relationships},
                key_field=lower.get(key.lower()),
            )
            self._indexes.setdefault(table.name.lower(), idx)
            self._indexes.setdefault(alias.lower(), idx)

    def compile(self, text: str) -> CompiledQuery:
        """Compile `text`, raising `QueryError` for anything outside the supported subset."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        try:
            compiled = _Compilation(self, text).run()
        except RecursionError:
            raise QueryError(MALFORMED_QUERY, "query is nested too deeply") from None
        if self._cache_size > 0:
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)), None)  # evict the oldest entry
            self._cache[text] = compiled
        return compiled

    def _lookup(self, name: str) -> _Index | None:
        return self._indexes.get(name.lower())


# --------------------------------------------------------------------------------------------------
# SOQL lexical pre-pass
# --------------------------------------------------------------------------------------------------

# Every string literal handed to sqlglot carries a one-character tag so the compiler knows where it
# came from: 's' a SOQL string (raw body, backslash escapes still in place), 'd' an unquoted SOQL
# date, 't' an unquoted SOQL datetime (already normalised).
_TAG_STRING, _TAG_DATE, _TAG_DATETIME = "s", "d", "t"

_SOQL_LEXEME = re.compile(
    r"""
    (?P<string>'(?:[^'\\]|\\.)*(?:'|\Z))
    | (?<![\w.])(?P<temporal>
        (?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})
        (?:T(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.(?P<frac>\d+))?
           (?P<tz>Z|[+-]\d{2}:?\d{2}))?
      )(?![\w:.])
    | (?P<bad>--|/\*|[:"`;])
    """,
    re.VERBOSE | re.DOTALL,
)

_WORD_BEFORE = re.compile(r"\w*$")
_WORD_AFTER = re.compile(r"\w*")
_SOQL_ESCAPES: Final = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _soql_prepass(text: str) -> str:
    """Quote-aware rewrite of SOQL: tag string literals and turn bare date/datetimes into strings."""

    last_string_end = -1

    def replace(m: re.Match[str]) -> str:
        nonlocal last_string_end
        if m.group("string") is not None:
            lit = m.group("string")
            if len(lit) < 2 or not lit.endswith("'") or _odd_backslashes_before_end(lit):
                raise QueryError(MALFORMED_QUERY, f"unterminated string literal: {lit[:40]}")
            if last_string_end >= 0 and not text[last_string_end : m.start()].strip():
                raise QueryError(MALFORMED_QUERY, f"unexpected token: {lit[:40]}")
            last_string_end = m.end()
            return "'" + _TAG_STRING + lit[1:-1].replace("'", "''") + "' "
        if m.group("temporal") is not None:
            return "'" + _temporal_literal(m) + "'"
        bad = m.group("bad")
        if bad == ":":
            before = _WORD_BEFORE.search(text, 0, m.start())
            after = _WORD_AFTER.match(text, m.end())
            token = (before.group(0) if before else "") + ":" + (after.group(0) if after else "")
            raise QueryError(
                MALFORMED_QUERY,
                f"unsupported literal or bind variable near '{token}': ':' literals (e.g. LAST_N_DAYS:n) "
                "are not supported",
            )
        raise QueryError(MALFORMED_QUERY, f"unexpected token: '{bad}'")

    return _SOQL_LEXEME.sub(replace, text)


def _odd_backslashes_before_end(lit: str) -> bool:
    """True when the closing quote of `lit` is itself escaped (so the literal is unterminated)."""
    n = 0
    i = len(lit) - 2
    while i >= 1 and lit[i] == "\\":
        n += 1
        i -= 1
    return n % 2 == 1


def _temporal_literal(m: re.Match[str]) -> str:
    try:
        day = date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
        if m.group("h") is None:
            return _TAG_DATE + day.isoformat()
        tz = m.group("tz")
        if tz == "Z":
            offset = timedelta(0)
        else:
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            if tz[0] == "-":
                offset = -offset
        frac = (m.group("frac") or "0")[:6].ljust(6, "0")
        moment = datetime(
            day.year,
            day.month,
            day.day,
            int(m.group("h")),
            int(m.group("mi")),
            int(m.group("s")),
            int(frac),
            tzinfo=timezone(offset),
        )
        return _TAG_DATETIME + normalise_datetime(moment)
    except (ValueError, OverflowError):
        raise QueryError(MALFORMED_QUERY, f"invalid date/datetime literal: {m.group('temporal')}") from None


def _soql_unescape(raw: str, *, like: bool) -> str:
    """Decode SOQL backslash escapes; for LIKE keep \\%, \\_ and \\\\ for SQLite's ESCAPE '\\'."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = raw[i + 1]  # the pre-pass guarantees a backslash is followed by a character
        if like and nxt in "%_\\":
            out.append("\\" + nxt)
        elif nxt in _SOQL_ESCAPES:
            out.append(_SOQL_ESCAPES[nxt])
        else:
            where = "" if like else " (\\% and \\_ are only valid in LIKE patterns)"
            raise QueryError(
                MALFORMED_QUERY, f"Invalid string literal '{raw}'. Illegal escape sequence{where}"
            )
        i += 2
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------

_NULLS_EXPLICIT: Final = "opsgraph_nulls_explicit"


class _Parser(Parser):
    """sqlglot's default parser, recording whether an ORDER BY key spelled out NULLS FIRST/LAST."""

    def _parse_ordered(self, parse_method: Callable[[], exp.Expr | None] | None = None) -> exp.Ordered | None:
        node = super()._parse_ordered(parse_method)
        if node is not None and self._index >= 2:
            last, before = self._tokens[self._index - 1], self._tokens[self._index - 2]
            if before.text.upper() == "NULLS" and last.text.upper() in ("FIRST", "LAST"):
                node.meta[_NULLS_EXPLICIT] = True
        return node


def _parse(sql: str, fail: Callable[[str], NoReturn]) -> exp.Select:
    try:
        tokens = Tokenizer().tokenize(sql)
    except SqlglotError as e:
        fail(f"could not tokenize query: {_first_line(str(e))}")
    if not tokens:
        fail("empty query")
    if any(t.token_type == TokenType.SEMICOLON for t in tokens):
        fail("unexpected token: ';' (multiple statements are not supported)")
    try:
        trees = _Parser(error_level=ErrorLevel.RAISE).parse(tokens, sql)
    except ParseError as e:
        detail = e.errors[0] if e.errors else {}
        desc = detail.get("description") or _first_line(str(e))
        near = detail.get("highlight")
        fail(f"{desc}" + (f" near '{near}'" if near else ""))
    except SqlglotError as e:
        fail(_first_line(str(e)))
    if len(trees) != 1 or trees[0] is None:
        fail("exactly one SELECT statement is supported")
    tree = trees[0]
    if not isinstance(tree, exp.Select):
        fail(f"only SELECT queries are supported, not {tree.key.upper()}")
    return tree


def _first_line(s: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", s).splitlines()[0] if s else "syntax error"


# --------------------------------------------------------------------------------------------------
# Translation
# --------------------------------------------------------------------------------------------------

_COMPARISONS: Final[dict[type[exp.Expr], str]] = {
    exp.EQ: "=",
    exp.NEQ: "!=",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}

_TO_DATE_FORMATS: Final = {
    "YYYY-MM-DD": "%Y-%m-%d",
    "MM/DD/YYYY": "%m/%d/%Y",
    "DD/MM/YYYY": "%d/%m/%Y",
    "DD.MM.YYYY": "%d.%m.%Y",
    "YYYYMMDD": "%Y%m%d",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_US_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
_INTEGER = re.compile(r"\d+")
_DECIMAL = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


_AGGREGATES: Final[dict[type[exp.Expr], str]] = {
    exp.Sum: "SUM",
    exp.Count: "COUNT",
    exp.Min: "MIN",
    exp.Max: "MAX",
    exp.Avg: "AVG",
}

_CLAUSES: Final = {
    "group": "GROUP BY",
    "having": "HAVING",
    "joins": "JOIN",
    "with_": "WITH",
    "locks": "FOR UPDATE / FOR VIEW",
    "distinct": "DISTINCT",
    "qualify": "QUALIFY",
    "windows": "WINDOW",
    "escape": "ESCAPE",
    "with_fill": "WITH FILL",
    "query": "a subquery",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _describe(node: exp.Expr) -> str:
    return node.key.upper().replace("_", " ")


class _Compilation:
    """State for compiling one query."""

    def __init__(self, compiler: QueryCompiler, text: str) -> None:
        self.compiler = compiler
        self.text = text
        self.soql = compiler.dialect == "soql"
        self.params: list[object] = []
        self.joins: dict[str, tuple[str, _Index, str]] = {}  # relationship -> (alias, target, fk sql)
        self.root: _Index
        self.alias: str | None = None
        self.chosen: list[_Item] = []
        self.star = False
        self.grouped: set[tuple[str, tuple[object, ...]]] | None = None  # (SQL, params) once it aggregates

    # -- errors ------------------------------------------------------------------------------------

    def fail(self, detail: str, code: str = MALFORMED_QUERY) -> NoReturn:
        raise QueryError(code, detail if self.soql else _NS_PREFIX + detail)

    def unsupported(self, node: exp.Expr, where: str = "") -> NoReturn:
        self.fail(f"unsupported construct: {_describe(node)}{' in ' + where if where else ''}")

    def only(self, node: exp.Expr, *allowed: str) -> None:
        """Reject `node` if any argument other than `allowed` is set."""
        for key, value in node.args.items():
            if key in allowed or value is None or value is False or (isinstance(value, list) and not value):
                continue
            label = _CLAUSES.get(key) or (_describe(value) if isinstance(value, exp.Expr) else key.upper())
            self.fail(f"{label} is not supported in {_describe(node)}")

    # -- driver ------------------------------------------------------------------------------------

    def run(self) -> CompiledQuery:
        sql = _soql_prepass(self.text) if self.soql else self.text
        if not sql.strip():
            self.fail("empty query")
        tree = _parse(sql, self.fail)
        clauses = ("expressions", "from_", "where", "order", "limit", "offset")
        self.only(tree, *clauses, *(("group",) if self.compiler.aggregates else ()))
        self.resolve_from(tree.args.get("from_"))
        chosen = self.select_list(tree.expressions)  # each clause in SQL order: their `?` params follow
        where = self.where(tree.args.get("where"))
        group = self.group_by(tree.args.get("group"))
        order = self.order_by(tree.args.get("order"))
        selects = [f"{c.sql} AS c{i}" for i, c in enumerate(chosen)]
        selected = [
            Selected(path=c.path, column=f"c{i}", function=c.function, label=c.label)
            for i, c in enumerate(chosen)
        ]
        limit = self.paging(tree.args.get("limit"), "LIMIT")
        offset = self.paging(tree.args.get("offset"), "OFFSET")

        parts = [f"SELECT {', '.join(selects)} FROM {_q(self.root.table.sql_table)} AS t0"]
        for alias, target, fk_sql in self.joins.values():
            assert target.key_field is not None
            key_sql = f"{alias}.{_q(target.table.columns[target.key_field])}"
            parts.append(f"LEFT JOIN {_q(target.table.sql_table)} AS {alias} ON {key_sql} = {fk_sql}")
        if where:
            parts.append(f"WHERE {where}")
        if group:
            parts.append(f"GROUP BY {group}")
        if order:
            parts.append(f"ORDER BY {order}")
        return CompiledQuery(
            table=self.root.table,
            sql=" ".join(parts),
            params=tuple(self.params),
            selected=tuple(selected),
            limit=limit,
            offset=offset,
        )

    # -- FROM --------------------------------------------------------------------------------------

    def resolve_from(self, node: exp.Expr | None) -> None:
        if not isinstance(node, exp.From):
            self.fail("a FROM clause naming one object is required")
        self.only(node, "this")
        table = node.this
        if not isinstance(table, exp.Table):
            self.unsupported(table, "FROM")
        self.only(table, "this", "alias")
        name = self.identifier(table.this)
        idx = self.compiler._lookup(name)
        if idx is None:
            if self.soql:
                self.fail(
                    f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
                    f"be sure to append the '__c' after the entity name. {_WSDL_HINT}",
                    INVALID_TYPE,
                )
            self.fail(f"Record '{name}' was not found.", INVALID_FIELD)
        self.root = idx
        alias = table.args.get("alias")
        if alias is not None:
            if not isinstance(alias, exp.TableAlias):
                self.unsupported(alias, "FROM")
            self.only(alias, "this")
            self.alias = self.identifier(alias.this).lower()

    def identifier(self, node: object) -> str:
        if not isinstance(node, exp.Identifier):
            if isinstance(node, exp.Expr):
                self.unsupported(node)
            self.fail("identifier expected")
        if node.args.get("quoted"):
            self.fail(f"quoted identifiers are not supported: {node.sql()}")
        self.only(node, "this")
        return str(node.this)

    # -- field references --------------------------------------------------------------------------

    def field_ref(self, node: exp.Expr) -> _Field:
        if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
            self.unsupported(node)
        self.only(node, "this", "table", "db", "catalog")
        parts = [self.identifier(p) for p in node.parts]
        written = ".".join(parts)
        root = self.root
        if len(parts) >= 2:
            qualifier = parts[0].lower()
            is_alias = qualifier == self.alias
            is_object = qualifier == root.table.name.lower()
            is_relationship = self.soql and qualifier in root.relationships
            if is_alias or (is_object and (len(parts) > 2 or not is_relationship)):
                parts = parts[1:]
        if len(parts) == 1:
            return self.local_field(root, parts[0], "t0", ())
        if not self.soql:
            self.fail(f"Unknown identifier '{written}'.")
        if len(parts) > 2:
            self.fail(f"relationship paths deeper than one level are not supported: '{written}'")
        rel_key = parts[0].lower()
        rel = root.relationships.get(rel_key)
        target = None
        if rel is not None:
            target_name, fk_field = root.table.relationships[rel]
            target = self.compiler._lookup(target_name)
        if rel is None or target is None or target.key_field is None:
            self.fail(
                f"Didn't understand relationship '{parts[0]}' in field path. If you are attempting to use a "
                f"custom relationship, be sure to append the '__r' after the custom relationship name. "
                f"{_WSDL_HINT}",
                INVALID_FIELD,
            )
        if rel not in self.joins:
            fk = self.local_field(root, fk_field, "t0", ())
            self.joins[rel] = (f"t{len(self.joins) + 1}", target, fk.sql)
        return self.local_field(target, parts[1], self.joins[rel][0], (rel,))

    def local_field(self, idx: _Index, name: str, alias: str, prefix: tuple[str, ...]) -> _Field:
        canonical = idx.columns.get(name.lower())
        if canonical is None:
            if self.soql:
                self.fail(
                    f"No such column '{name}' on entity '{idx.table.name}'. If you are attempting to use a "
                    f"custom field, be sure to append the '__c' after the custom field name. {_WSDL_HINT}",
                    INVALID_FIELD,
                )
            self.fail(f"Field '{name}' for record '{idx.table.name}' was not found.", INVALID_FIELD)
        return _Field(
            path=(*prefix, canonical),
            name=canonical,
            sql=f"{alias}.{_q(idx.table.columns[canonical])}",
            index=idx,
        )

    # -- SELECT ------------------------------------------------------------------------------------

    def select_list(self, items: list[exp.Expr]) -> list[_Item]:
        if not items:
            self.fail("SELECT list is empty")
        chosen: list[_Item] = []
        unnamed = 0
        for item in items:
            if isinstance(item, exp.Star):
                if self.soql:
                    self.fail("unexpected token: '*'")
                if len(items) != 1:
                    self.fail("'*' cannot be combined with other select items")
                self.only(item)
                self.star = True
                for name in self.root.table.columns:
                    f = self.local_field(self.root, name, "t0", ())
                    chosen.append(_Item(f.path, f.sql))
                break
            label = None
            if isinstance(item, exp.Alias) and self.compiler.aggregates:
                self.only(item, "this", "alias")
                label, item = self.identifier(item.args["alias"]).lower(), item.this
            if isinstance(item, exp.Column):
                f = self.field_ref(item)
                chosen.append(_Item(f.path, f.sql, label=label))
            elif self.compiler.aggregates and (type(item) in _AGGREGATES or isinstance(item, exp.Case)):
                expression = self.case(item) if isinstance(item, exp.Case) else self.aggregate(item)
                if label is None:
                    unnamed += 1
                    label = f"expr{unnamed}"
                chosen.append(replace(expression, label=label))
            elif isinstance(item, exp.Alias):
                self.fail("column aliases are not supported")
            elif isinstance(item, exp.Func):
                self.fail(f"aggregate and function calls are not supported: {_describe(item)}")
            else:
                self.unsupported(item, "SELECT")
        if self.soql:
            seen: set[tuple[str, ...]] = set()
            for c in chosen:
                if c.path in seen:
                    self.fail(f"duplicate field selected: {'.'.join(c.path)}")
                seen.add(c.path)
        self.chosen = chosen
        return chosen

    # -- aggregates, CASE and GROUP BY -------------------------------------------------------------

    def aggregate(self, node: exp.Expr) -> _Item:
        """`SUM(field)` and the like (`COUNT(*)`)."""
        function = _AGGREGATES[type(node)]
        self.only(node, "this", "big_int")  # sqlglot marks every COUNT big_int
        arg = node.this
        if isinstance(arg, exp.Star) and function == "COUNT":
            return _Item((), "COUNT(*)", function=function)
        if not isinstance(arg, exp.Column) or isinstance(arg.this, exp.Star):
            self.fail(f"{function} takes one field{' or *' if function == 'COUNT' else ''}")
        f = self.field_ref(arg)
        return _Item(f.path, f"{function}({f.sql})", function=function)

    def case(self, node: exp.Case) -> _Item:
        """`CASE WHEN <condition> THEN field ... [ELSE field | NULL] END`, every result one field."""
        self.only(node, "ifs", "default")
        mark = len(self.params)
        results: list[_Field] = []
        whens: list[str] = []
        for branch in node.args.get("ifs") or []:
            if not isinstance(branch, exp.If):
                self.unsupported(branch, "CASE")
            self.only(branch, "this", "true")
            condition = self.condition(branch.this)
            results.append(self.case_result(branch.args["true"]))
            whens.append(f"WHEN {condition} THEN {results[-1].sql}")
        default = node.args.get("default")
        other = ""
        if default is not None and not isinstance(default, exp.Null):
            results.append(self.case_result(default))
            other = f" ELSE {results[-1].sql}"
        if not whens:
            self.fail("CASE requires WHEN ... THEN")
        if len({f.path for f in results}) != 1:
            self.fail("the results of a CASE must be one field")
        params = tuple(self.params[mark:])
        return _Item(results[0].path, f"CASE {' '.join(whens)}{other} END", params)

    def case_result(self, node: exp.Expr) -> _Field:
        if not isinstance(node, exp.Column):
            self.fail("a CASE result must be a field")
        return self.field_ref(node)

    def group_by(self, node: exp.Expr | None) -> str:
        """GROUP BY fields or CASE expressions; then every selected item not aggregated must be grouped,
        and an aggregate makes one group of every row when nothing is grouped."""
        groups: list[_Item] = []
        if node is not None:
            if not isinstance(node, exp.Group):
                self.unsupported(node)
            self.only(node, "expressions")
            if not node.expressions:
                self.fail("GROUP BY requires fields")
            for item in node.expressions:
                if isinstance(item, exp.Column):
                    f = self.field_ref(item)
                    groups.append(_Item(f.path, f.sql))
                elif isinstance(item, exp.Case):
                    groups.append(self.case(item))
                else:
                    self.fail(f"GROUP BY takes fields only, not {_describe(item)}")
        if node is None and not any(c.function for c in self.chosen):
            return ""
        self.grouped = {(g.sql, g.params) for g in groups}
        for c in self.chosen:
            if c.function is None and (c.sql, c.params) not in self.grouped:
                if self.star:
                    self.fail("'*' cannot be selected with GROUP BY")
                self.fail(f"not a GROUP BY expression: '{'.'.join(c.path)}'")
        return ", ".join(dict.fromkeys(g.sql for g in groups))

    # -- WHERE -------------------------------------------------------------------------------------

    def where(self, node: exp.Expr | None) -> str:
        if node is None:
            return ""
        if not isinstance(node, exp.Where):
            self.unsupported(node)
        self.only(node, "this")
        return self.condition(node.this)

    def condition(self, node: exp.Expr) -> str:
        if isinstance(node, exp.Paren):
            self.only(node, "this")
            return self.condition(node.this)
        if isinstance(node, exp.And | exp.Or):
            self.only(node, "this", "expression")
            word = "AND" if isinstance(node, exp.And) else "OR"
            other = exp.Or if isinstance(node, exp.And) else exp.And
            if self.soql and (isinstance(node.this, other) or isinstance(node.expression, other)):
                self.fail("unexpected token: AND/OR mixed without parentheses")
            return f"({self.condition(node.this)} {word} {self.condition(node.expression)})"
        if isinstance(node, exp.Not):
            self.only(node, "this")
            return self.negation(node.this)
        if isinstance(node, exp.Like | exp.Is) and node.args.get("negate"):
            positive = node.copy()
            positive.set("negate", None)
            return self.negation(positive)
        if type(node) in _COMPARISONS:
            return self.comparison(node)
        if isinstance(node, exp.In):
            return self.in_list(node)
        if isinstance(node, exp.Like):
            return self.like(node)
        if isinstance(node, exp.Is):
            return self.is_null(node, negated=False)
        if isinstance(node, exp.Subquery | exp.Select | exp.Exists):
            self.fail("subqueries are not supported")
        self.unsupported(node, "WHERE")

    def negation(self, inner: exp.Expr) -> str:
        if isinstance(inner, exp.Is):
            return self.is_null(inner, negated=True)
        if self.soql:  # two-valued logic: a predicate on a null field is false, so NOT makes it true
            return f"NOT COALESCE({self.condition(inner)}, 0)"
        return f"NOT {self.condition(inner)}"

    def is_null(self, node: exp.Is, *, negated: bool) -> str:
        if self.soql:
            self.fail("unexpected token: IS (use '= null' or '!= null')")
        self.only(node, "this", "expression")
        if not isinstance(node.expression, exp.Null):
            self.unsupported(node.expression, "IS")
        f = self.field_ref(node.this)
        return f"{f.sql} IS {'NOT ' if negated else ''}NULL"

    def comparison(self, node: exp.Expr) -> str:
        self.only(node, "this", "expression")
        op = _COMPARISONS[type(node)]
        f = self.field_ref(self.column_operand(node.this, node.expression))
        rhs = node.expression
        if isinstance(rhs, exp.Null) and self.soql:
            if op not in ("=", "!="):
                self.fail(f"null can only be compared with = or !=, not {op}")
            return f"{f.sql} IS {'NOT ' if op == '!=' else ''}NULL"
        value = self.value(rhs, f)
        self.params.append(value)
        collate = self.collation(f, value, rhs)
        if self.soql and op == "!=":  # null != 'x' is true in SOQL
            return f"{f.sql} IS NOT ?{collate}"
        return f"{f.sql} {op} ?{collate}"

    def column_operand(self, lhs: exp.Expr, rhs: exp.Expr) -> exp.Expr:
        if isinstance(rhs, exp.Column):
            self.fail("comparing a field with another field or keyword is not supported: " + rhs.sql())
        if not isinstance(lhs, exp.Column):
            if isinstance(lhs, exp.Func | exp.Dot):
                self.fail(f"functions are not supported in filters: {_describe(lhs)}")
            self.fail("the left-hand side of a condition must be a field")
        return lhs

    def in_list(self, node: exp.In) -> str:
        self.only(node, "this", "expressions")
        if node.args.get("query") is not None:
            self.fail("subqueries are not supported")
        values = node.expressions
        if not values:
            self.fail("IN requires a list of values")
        f = self.field_ref(node.this)
        marks: list[str] = []
        has_null = False
        collate = ""
        for v in values:
            if isinstance(v, exp.Subquery | exp.Select):
                self.fail("subqueries are not supported")
            if isinstance(v, exp.Null):
                has_null = True
                if self.soql:
                    continue
            value = self.value(v, f)
            collate = collate or self.collation(f, value, v)
            self.params.append(value)
            marks.append("?")
        if not marks:
            return f"{f.sql} IS NULL"
        test = f"{f.sql}{collate} IN ({', '.join(marks)})"
        return f"({f.sql} IS NULL OR {test})" if has_null and self.soql else test

    def like(self, node: exp.Like) -> str:
        self.only(node, "this", "expression")
        f = self.field_ref(self.column_operand(node.this, node.expression))
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            self.fail("LIKE requires a quoted string pattern")
        if f.name in f.index.table.date_columns or f.name in f.index.table.datetime_columns:
            self.fail(f"LIKE cannot be used with date field '{f.name}'", INVALID_FIELD)
        raw = str(pattern.this)
        if self.soql:
            if not raw.startswith(_TAG_STRING):
                self.fail("LIKE requires a quoted string pattern")
            self.params.append(_soql_unescape(raw[1:], like=True))
            return f"{f.sql} LIKE ? ESCAPE '\\'"
        if raw == "":
            self.params.append(None)  # Oracle: '' is NULL
        else:
            self.params.append(_like_to_glob(raw))
        return f"{f.sql} GLOB ?"

    def collation(self, f: _Field, value: object, node: exp.Expr) -> str:
        """SOQL compares strings case-insensitively; Ids and date literals compare exactly."""
        if not self.soql or not isinstance(value, str) or f.name.endswith("Id"):
            return ""
        raw = node.this if isinstance(node, exp.Literal) else ""
        return " COLLATE NOCASE" if str(raw).startswith(_TAG_STRING) else ""

    # -- literal values ----------------------------------------------------------------------------

    def value(self, node: exp.Expr, f: _Field) -> object:
        table = f.index.table
        temporal = f.name in table.date_columns or f.name in table.datetime_columns
        if isinstance(node, exp.Null):
            return None
        if self.soql:
            return self.soql_value(node, f, temporal)
        return self.suiteql_value(node, f, temporal)

    def soql_value(self, node: exp.Expr, f: _Field, temporal: bool) -> object:
        if isinstance(node, exp.Literal) and node.is_string:
            raw = str(node.this)
            tag, body = raw[:1], raw[1:]
            if tag in (_TAG_DATE, _TAG_DATETIME):
                if not temporal:
                    self.fail(
                        f"value of filter criterion for field '{f.name}' must not be a date or datetime "
                        "literal: the field is not a date field",
                        INVALID_FIELD,
                    )
                if tag == _TAG_DATE and f.name in f.index.table.datetime_columns:
                    self.fail(
                        f"value of filter criterion for field '{f.name}' must be of type dateTime and should "
                        "not be enclosed in quotes",
                        INVALID_FIELD,
                    )
                return body
            if temporal:
                kind = "dateTime" if f.name in f.index.table.datetime_columns else "date"
                self.fail(
                    f"value of filter criterion for field '{f.name}' must be of type {kind} and should not "
                    "be enclosed in quotes",
                    INVALID_FIELD,
                )
            return _soql_unescape(body, like=False)
        if temporal:
            self.fail(f"value of filter criterion for field '{f.name}' must be a date literal", INVALID_FIELD)
        if isinstance(node, exp.Boolean):
            self.only(node, "this")
            return 1 if node.this else 0
        return self.number(node)

    def suiteql_value(self, node: exp.Expr, f: _Field, temporal: bool) -> object:
        if isinstance(node, exp.Anonymous) and str(node.this).upper() == "TO_DATE":
            if not temporal:
                self.fail(f"TO_DATE can only be compared with a date field, not '{f.name}'")
            return self.to_date(node)
        if isinstance(node, exp.Literal) and node.is_string:
            text = str(node.this)
            if text == "":
                return None  # Oracle: '' is NULL
            if temporal:
                return self.date_string(text, f)
            return text
        if temporal:
            self.fail(f"Invalid date value for field '{f.name}'.")
        if isinstance(node, exp.Boolean):
            self.fail("boolean literals are not supported; compare with 'T' or 'F'")
        return self.number(node)

    def number(self, node: exp.Expr) -> int | float:
        negative = False
        if isinstance(node, exp.Neg):
            self.only(node, "this")
            negative, node = True, node.this
        if not (isinstance(node, exp.Literal) and not node.is_string):
            if isinstance(node, exp.Func):
                self.fail(f"functions are not supported: {_describe(node)}")
            self.unsupported(node, "a value position")
        text = str(node.this)
        result: int | float
        if _INTEGER.fullmatch(text):
            result = int(text)
        elif _DECIMAL.fullmatch(text):
            result = float(text)
        else:
            self.fail(f"invalid number: {text}")
        return -result if negative else result

    def date_string(self, text: str, f: _Field) -> str:
        try:
            if _ISO_DATE.fullmatch(text):
                return date.fromisoformat(text).isoformat()
            if _US_DATE.fullmatch(text):
                return datetime.strptime(text, "%m/%d/%Y").date().isoformat()
        except ValueError:
            pass
        self.fail(f"Invalid date value '{text}' for field '{f.name}'; use 'YYYY-MM-DD' or TO_DATE.")

    def to_date(self, node: exp.Anonymous) -> str:
        self.only(node, "this", "expressions")
        args = node.expressions
        if len(args) != 2 or not all(isinstance(a, exp.Literal) and a.is_string for a in args):
            self.fail("TO_DATE requires a date string and a format string")
        text, fmt = str(args[0].this), str(args[1].this).upper()
        py_fmt = _TO_DATE_FORMATS.get(fmt)
        if py_fmt is None:
            self.fail(f"unsupported TO_DATE format '{fmt}'; supported: {', '.join(_TO_DATE_FORMATS)}")
        try:
            return datetime.strptime(text, py_fmt).date().isoformat()
        except ValueError:
            self.fail(f"TO_DATE value '{text}' does not match format '{fmt}'")

    # -- ORDER BY / LIMIT / OFFSET ----------------------------------------------------------------

    def order_by(self, node: exp.Expr | None) -> str:
        if node is None:
            return ""
        if not isinstance(node, exp.Order):
            self.unsupported(node)
        self.only(node, "expressions")
        keys: list[str] = []
        for item in node.expressions:
            if not isinstance(item, exp.Ordered):
                self.unsupported(item, "ORDER BY")
            self.only(item, "this", "desc", "nulls_first")
            named = self.select_alias(item.this)
            f = None if named is not None else self.field_ref(item.this)
            if f is not None and self.grouped is not None and (f.sql, ()) not in self.grouped:
                self.fail(f"ORDER BY names '{f.name}', which is not a GROUP BY expression")
            desc = bool(item.args.get("desc"))
            if item.meta.get(_NULLS_EXPLICIT):
                nulls_first = bool(item.args.get("nulls_first"))
            else:  # SOQL: nulls first; Oracle: nulls are larger than any value
                nulls_first = True if self.soql else desc
            collate = " COLLATE NOCASE" if self.soql and f is not None and not f.name.endswith("Id") else ""
            key = named if f is None else f.sql
            keys.append(
                f"{key}{collate} {'DESC' if desc else 'ASC'} NULLS {'FIRST' if nulls_first else 'LAST'}"
            )
        return ", ".join(keys)

    def select_alias(self, node: exp.Expr) -> str | None:
        """The result column an ORDER BY key names by a select item's alias (SuiteQL), if it does."""
        if self.soql or not isinstance(node, exp.Column) or node.table:
            return None
        name = str(node.name).lower()
        for i, c in enumerate(self.chosen):
            if c.label == name and c.label not in self.root.columns:
                return f"c{i}"
        return None

    def paging(self, node: exp.Expr | None, what: str) -> int | None:
        if node is None:
            return None
        if not isinstance(node, exp.Limit | exp.Offset):
            self.unsupported(node)
        self.only(node, "expression")
        value = node.expression
        if not (
            isinstance(value, exp.Literal) and not value.is_string and _INTEGER.fullmatch(str(value.this))
        ):
            self.fail(f"{what} requires a non-negative integer")
        return min(int(str(value.this)), 2**62)  # beyond any table: no overflow in SQLite


def _like_to_glob(pattern: str) -> str:
    """Translate an Oracle LIKE pattern (no ESCAPE) into an equivalent case-sensitive GLOB pattern."""
    out: list[str] = []
    for c in pattern:
        if c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        elif c in "*?[":
            out.append(f"[{c}]")
        else:
            out.append(c)
    return "".join(out)
