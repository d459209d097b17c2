#!/usr/bin/env python3
"""P7 peer comparison (docs/performance.md): the same NDJSON, the same insights, DuckDB / ClickHouse vs us.

    python3 bench/peers.py FILE [--engines duckdb,chdb,clickhouse] [--tz America/New_York]
        [--date-start 2025-06-30 --date-stop 2025-07-31] [--time-increment all_days|N|monthly]
        [--breakdown none|country] [--runs 5] [--json report.json]

1. Runs `cams-insights bench answer` on FILE: our rows for every campaign, our load rate (the durable bulk
   import: parallel parse, metrics applied, batches committed with fsync) and our median in-process query time.
2. Loads FILE into each available peer (DuckDB `read_ndjson` into an in-memory table; chDB's embedded
   ClickHouse `file(..., 'JSONEachRow', schema)` into a MergeTree table; a ClickHouse server on localhost if
   one answers on 8123 (HTTP) or 9000 (`clickhouse-client`)), timing the load.
3. Recomputes the insights of every campaign from the raw events in SQL, with the engine's semantics (see
   crates/insights/src/lib.rs and reference.rs, and SEMANTICS below), formats them exactly like ours (integer
   micros and Decimal, round half away from zero) and asserts every field of every row equals ours.
4. Times the query (median of --runs executions, each one campaign's insights recomputed from the raw
   events) and prints the P7 ratios; --json writes them.

Exit status: 0 when every peer matched ours field for field, 1 on any mismatch (a diff is printed),
2 on usage/environment errors. Missed performance targets are reported, not fatal (unless --strict).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

# SEMANTICS (what the SQL below implements; the engine's reference evaluator is the authority):
# - message = (campaign_id, recipient); only one campaign is queried at a time.
# - sent time      = earliest event of any kind (sent, delivered, read, click, failed);
#   delivered time = earliest delivered/read/click; read time = earliest read;
#   failed         = earliest failed, counted only when the message has no delivered time at all.
# - clicks: distinct per message by event_id when present, else by timestamp (ms); an id-less click and a
#   click with an id are different clicks; each distinct click counts at its earliest time.
# - country = country of the earliest event carrying one (ties: the smaller code), else unknown (no
#   directory in the benchmark; `psid-...` recipients are not phone numbers).
# - price = price of the earliest event carrying one (ties: the smaller price), else 0 (no rate card).
# - a fact counts in a period when the local date (IANA zone, DST-correct) of its time is in the period;
#   sent/delivered/read/failed exclude E2, clicks exclude E5 (unknown is never excluded), spend = prices of
#   messages delivered in the period, all countries.
# - breakdown=country: one row per period for every country with any counted fact or click (before
#   exclusions) anywhere in the range, alphabetically, unknown last.

EEA = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
       "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"]
E2 = sorted(set(EEA + ["GB", "JP"]))
E5 = sorted(set(E2 + ["AR", "TR", "KR"]))
assert len(E2) == 32 and len(E5) == 35

# Minor-unit digits of the currencies an ad account commonly uses (ISO 4217); --minor-digits overrides.
MINOR_DIGITS = {
    "USD": 2, "EUR": 2, "GBP": 2, "CNY": 2, "HKD": 2, "SGD": 2, "AUD": 2, "CAD": 2, "INR": 2, "BRL": 2,
    "MXN": 2, "IDR": 2, "PHP": 2, "THB": 2, "MYR": 2, "TRY": 2, "ZAR": 2, "SAR": 2, "AED": 2, "EGP": 2,
    "NGN": 2, "ARS": 2, "COP": 2, "PEN": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "TWD": 2,
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3, "CLF": 4, "UYW": 4,
}

WIRE_FIELDS = [
    "DateStart", "DateStop", "MarketingMessagesDelivered", "MarketingMessagesDeliveryRate",
    "MarketingMessagesReadRate", "MarketingMessagesLinkBtnClick", "MarketingMessagesLinkBtnClickRate",
    "MarketingMessagesSpend", "MarketingMessagesCostPerDelivered", "MarketingMessagesCostPerLinkBtnClick",
    "MarketingMessagesSent", "MarketingMessagesRead", "MarketingMessagesFailed",
    "MarketingMessagesSpendCurrency",
]

EVENT_KINDS = ("sent", "delivered", "read", "click", "failed")


# ----------------------------------------------------------------------------------------------------------
# Exact formatting (docs/metrics.md "Numbers on the wire"), integers and Decimal only, no binary floating point.

def _round_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (exact: integer division and remainder)."""
    assert denominator != 0
    negative = (numerator < 0) != (denominator < 0)
    q, r = divmod(abs(numerator), abs(denominator))
    if 2 * r >= abs(denominator):
        q += 1
    return -q if negative else q


def _decimal_string(units: int, digits: int) -> str:
    """`units` × 10^-digits written in full, then trailing zeros and a trailing dot removed."""
    sign = "-" if units < 0 else ""
    int_part, frac = divmod(abs(units), 10 ** digits)
    if frac == 0 or digits == 0:
        return f"{sign}{int_part}"
    return f"{sign}{int_part}." + f"{frac:0{digits}d}".rstrip("0")


def format_ratio(numerator: int, denominator: int, scale: int) -> str:
    """numerator × scale / denominator, half away from zero to 6 decimals, trimmed; "0" for a zero denominator."""
    if denominator == 0:
        return "0"
    return _decimal_string(_round_half_away(numerator * scale * 10 ** 6, denominator), 6)


def format_money(micros: int, minor_digits: int) -> str:
    """Micro-units in the major unit, half away from zero to the currency's minor digits, trimmed."""
    digits = min(minor_digits, 6)
    return _decimal_string(_round_half_away(micros, 10 ** (6 - digits)), digits)


def to_micros(value) -> int:
    """A decimal amount from SQL (Decimal, or its text) as exact integer micro-units."""
    if value is None or value == "" or value == "\\N":
        return 0
    d = Decimal(str(value)).scaleb(6)
    if d != d.to_integral_value():
        raise ValueError(f"amount {value} is not a whole number of micro-units")
    return int(d)


def format_row(start: dt.date, stop: dt.date, country, totals: dict, currency: str, digits: int) -> dict:
    sent, delivered, read, failed, clicks = (totals[k] for k in ("sent", "delivered", "read", "failed", "clicks"))
    spend = totals["spend"]
    row = {
        "DateStart": start.isoformat(),
        "DateStop": stop.isoformat(),
        "MarketingMessagesDelivered": str(delivered),
        "MarketingMessagesDeliveryRate": format_ratio(delivered, sent, 100),
        "MarketingMessagesReadRate": format_ratio(read, delivered, 100),
        "MarketingMessagesLinkBtnClick": str(clicks),
        "MarketingMessagesLinkBtnClickRate": format_ratio(clicks, delivered, 100),
        "MarketingMessagesSpend": format_money(spend, digits),
        "MarketingMessagesCostPerDelivered": format_ratio(spend, delivered * 10 ** 6, 1),
        "MarketingMessagesCostPerLinkBtnClick": format_ratio(spend, clicks * 10 ** 6, 1),
        "MarketingMessagesSent": str(sent),
        "MarketingMessagesRead": str(read),
        "MarketingMessagesFailed": str(failed),
        "MarketingMessagesSpendCurrency": currency,
    }
    if country is not False:
        row["Country"] = "unknown" if country is None else country
    return row


def _self_test_formatting() -> None:
    # docs/metrics.md's worked example, and the trimming rules.
    assert format_ratio(38_870_000, 2755 * 10 ** 6, 1) == "0.014109"
    assert format_ratio(268, 2755, 100) == "9.727768"
    assert format_ratio(38_870_000, 268 * 10 ** 6, 1) == "0.145037"
    assert format_ratio(2188, 2755, 100) == "79.419238"
    assert format_ratio(1, 2, 1) == "0.5" and format_ratio(5, 5, 100) == "100" and format_ratio(3, 0, 100) == "0"
    assert format_ratio(1, 2_000_000, 1) == "0.000001" and format_ratio(1, 2_000_001, 1) == "0"
    assert format_money(38_870_000, 2) == "38.87" and format_money(38_800_000, 2) == "38.8"
    assert format_money(0, 2) == "0" and format_money(1_500_000, 0) == "2" and format_money(5_000, 2) == "0.01"
    assert format_money(4_999, 2) == "0" and to_micros(Decimal("0.0107")) == 10_700 and to_micros("2509.142") == 2_509_142_000


# ----------------------------------------------------------------------------------------------------------
# Periods (TimeIncrement), exactly like the reference: walk the days, start a new period when the key changes.

def parse_increment(s: str):
    if s.lower() == "all_days":
        return ("all_days", 0)
    if s.lower() == "monthly":
        return ("monthly", 0)
    if re.fullmatch(r"[0-9]{1,2}", s) and 1 <= int(s) <= 90:
        return ("days", int(s))
    raise SystemExit(f"bad --time-increment {s!r} (all_days, 1..90, monthly)")


def periods(start: dt.date, stop: dt.date, inc) -> list[tuple[dt.date, dt.date]]:
    kind, n = inc

    def key(d: dt.date) -> int:
        if kind == "all_days":
            return 0
        if kind == "days":
            return (d - start).days // n
        return d.year * 12 + d.month

    out: list[list[dt.date]] = []
    d = start
    while d <= stop:
        if out and key(out[-1][0]) == key(d):
            out[-1][1] = d
        else:
            out.append([d, d])
        d += dt.timedelta(days=1)
    return [(a, b) for a, b in out]


# ----------------------------------------------------------------------------------------------------------
# SQL. One campaign per query (an insights request is per campaign); each execution recomputes everything
# from the raw events table. Output: one row per (period index[, country]) with the counts after exclusions
# and the spend before them: p, [country,] sent, delivered, read, failed, clicks, spend.

def _sql_str(s: str) -> str:
    """A standard SQL string literal (DuckDB: a backslash is an ordinary character)."""
    return "'" + s.replace("'", "''") + "'"


def _ch_str(s: str) -> str:
    """A ClickHouse string literal (a backslash escapes)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _codes(codes) -> str:
    return ", ".join(f"'{c}'" for c in codes)


def duckdb_sql(campaign: str, tz: str, start: dt.date, stop: dt.date, inc, by_country: bool) -> str:
    kind, n = inc
    if kind == "all_days":
        period = "0"
    elif kind == "days":
        period = f"(d - DATE '{start.isoformat()}') // {n}"
    else:
        period = f"(year(d) * 12 + month(d)) - {start.year * 12 + start.month}"
    group = "p, country" if by_country else "p"
    select_country = "country, " if by_country else ""
    return f"""
WITH messages AS (
    SELECT recipient,
           min(timestamp) AS sent_t,
           min(timestamp) FILTER (WHERE event IN ('delivered', 'read', 'click')) AS delivered_t,
           min(timestamp) FILTER (WHERE event = 'read') AS read_t,
           min(timestamp) FILTER (WHERE event = 'failed') AS failed_t,
           -- the earliest event's value; ties at one instant: the smaller value
           arg_min(country, {{'t': timestamp, 'c': country}}) FILTER (WHERE country IS NOT NULL) AS country,
           coalesce(arg_min(price, {{'t': timestamp, 'p': price}}) FILTER (WHERE price IS NOT NULL), 0) AS price
    FROM events
    WHERE campaign_id = {_sql_str(campaign)}
    GROUP BY recipient
),
clicks AS (
    -- distinct clicks of a message: by event id, else by timestamp; each at its earliest time
    SELECT recipient, min(timestamp) AS t
    FROM events
    WHERE campaign_id = {_sql_str(campaign)} AND event = 'click'
    GROUP BY recipient, event_id, CASE WHEN event_id IS NULL THEN timestamp END
),
facts AS (
    -- k: 0 sent, 1 delivered, 2 read, 3 failed (never delivered), 4 a distinct click
    SELECT country, price,
           unnest([{{'k': 0, 't': sent_t}}, {{'k': 1, 't': delivered_t}}, {{'k': 2, 't': read_t}},
                   {{'k': 3, 't': CASE WHEN delivered_t IS NULL THEN failed_t END}}]) AS f
    FROM messages
    UNION ALL
    SELECT m.country, 0, {{'k': 4, 't': c.t}}
    FROM clicks c JOIN messages m USING (recipient)
),
dated AS (
    SELECT country, price, f.k AS k,
           CAST(timezone({_sql_str(tz)}, f.t) AS DATE) AS d,
           coalesce(country IN ({_codes(E2)}), false) AS in_e2,
           coalesce(country IN ({_codes(E5)}), false) AS in_e5
    FROM facts
    WHERE f.t IS NOT NULL
)
SELECT {period} AS p, {select_country}
       count(*) FILTER (WHERE k = 0 AND NOT in_e2) AS sent,
       count(*) FILTER (WHERE k = 1 AND NOT in_e2) AS delivered,
       count(*) FILTER (WHERE k = 2 AND NOT in_e2) AS read,
       count(*) FILTER (WHERE k = 3 AND NOT in_e2) AS failed,
       count(*) FILTER (WHERE k = 4 AND NOT in_e5) AS clicks,
       coalesce(sum(price) FILTER (WHERE k = 1), 0) AS spend
FROM dated
WHERE d BETWEEN DATE '{start.isoformat()}' AND DATE '{stop.isoformat()}'
GROUP BY {group}
ORDER BY {group}
"""


def clickhouse_sql(campaign: str, tz: str, start: dt.date, stop: dt.date, inc, by_country: bool) -> str:
    kind, n = inc
    if kind == "all_days":
        period = "0"
    elif kind == "days":
        period = f"intDiv(dateDiff('day', toDate('{start.isoformat()}'), d), {n})"
    else:
        period = f"(toYear(d) * 12 + toMonth(d)) - {start.year * 12 + start.month}"
    group = "p, country" if by_country else "p"
    select_country = "country, " if by_country else ""
    return f"""
SELECT {period} AS p, {select_country}
       countIf(k = 0 AND NOT in_e2) AS sent,
       countIf(k = 1 AND NOT in_e2) AS delivered,
       countIf(k = 2 AND NOT in_e2) AS read,
       countIf(k = 3 AND NOT in_e2) AS failed,
       countIf(k = 4 AND NOT in_e5) AS clicks,
       sumIf(price, k = 1) AS spend
FROM (
    SELECT country, price, f.1 AS k,
           toDate(f.2, {_ch_str(tz)}) AS d,
           ifNull(country IN ({_codes(E2)}), 0) AS in_e2,
           ifNull(country IN ({_codes(E5)}), 0) AS in_e5
    FROM (
        -- k: 0 sent, 1 delivered, 2 read, 3 failed (never delivered), 4 a distinct click
        SELECT country, price,
               arrayJoin(arrayFilter(x -> isNotNull(x.2), arrayConcat(
                   [(0, sent_t), (1, delivered_t), (2, read_t), (3, if(isNull(delivered_t), failed_t, NULL))],
                   arrayMap(x -> (4, toNullable(fromUnixTimestamp64Milli(x, 'UTC'))), clicks.2)))) AS f
        FROM (
            SELECT recipient,
                   min(timestamp) AS sent_t,
                   minIfOrNull(timestamp, event IN ('delivered', 'read', 'click')) AS delivered_t,
                   minIfOrNull(timestamp, event = 'read') AS read_t,
                   minIfOrNull(timestamp, event = 'failed') AS failed_t,
                   -- the earliest event's value, ties at one instant: the smaller value. The order key is
                   -- (ms, value) packed into one integer: argMin over a tuple key is ~2x slower here.
                   -- country: ms * 2^16 + its two ASCII letters (big-endian, so alphabetical order)
                   argMinIf(country,
                            toUnixTimestamp64Milli(timestamp) * 65536 + reinterpretAsUInt16(reverse(toString(country))),
                            isNotNull(country)) AS country,
                   -- price: ms * 10^18 + micro-units (Int128)
                   ifNull(argMinIf(price,
                                   toInt128(toUnixTimestamp64Milli(timestamp)) * 1000000000000000000
                                       + toInt128(toDecimal128(price, 6) * 1000000),
                                   isNotNull(price)),
                          toDecimal64(0, 6)) AS price,
                   -- distinct clicks: identity 'i' || event id, else 't' || ms; each at its earliest ms
                   minMapIf([if(isNull(event_id), concat('t', toString(toUnixTimestamp64Milli(timestamp))),
                                concat('i', assumeNotNull(event_id)))],
                            [toUnixTimestamp64Milli(timestamp)],
                            event = 'click') AS clicks
            FROM events
            WHERE campaign_id = {_ch_str(campaign)}
            GROUP BY recipient
        )
    )
)
WHERE d BETWEEN toDate('{start.isoformat()}') AND toDate('{stop.isoformat()}')
GROUP BY {group}
ORDER BY {group}
"""


# The same schema for every engine: campaign_id and recipient kept as text, the timestamp parsed (UTC, ms),
# the price exact (DECIMAL(18,6)).
DUCKDB_COLUMNS = ("{campaign_id: 'VARCHAR', recipient: 'VARCHAR', event: 'VARCHAR', timestamp: 'TIMESTAMPTZ', "
                  "country: 'VARCHAR', event_id: 'VARCHAR', price: 'DECIMAL(18,6)'}")
CH_SCHEMA = ("campaign_id String, recipient String, event LowCardinality(String), "
             "timestamp DateTime64(3, 'UTC'), country LowCardinality(Nullable(String)), "
             "event_id Nullable(String), price Nullable(Decimal(18, 6))")
CH_TABLE = f"CREATE TABLE events ({CH_SCHEMA}) ENGINE = MergeTree ORDER BY (campaign_id, recipient)"
CH_INPUT_SETTINGS = "date_time_input_format = 'best_effort'"

SANITY_SQL = """
SELECT count(*) AS n,
       count(DISTINCT campaign_id) AS campaigns,
       sum(CASE WHEN event NOT IN ('sent', 'delivered', 'read', 'click', 'failed') THEN 1 ELSE 0 END) AS bad_kind,
       sum(CASE WHEN country IS NOT NULL AND (length(country) <> 2 OR upper(country) <> country) THEN 1 ELSE 0 END)
           AS bad_country,
       sum(CASE WHEN event_id = '' THEN 1 ELSE 0 END) AS empty_ids
FROM events
"""


# ----------------------------------------------------------------------------------------------------------
# Engines. Each: load(file) -> seconds; campaigns() -> list; query(sql) -> list of tuples (text or values).

class Skip(Exception):
    """The engine is not available here; the reason is printed and the comparison goes on without it."""


class DuckDBEngine:
    name = "duckdb"
    dialect = staticmethod(duckdb_sql)

    def __init__(self, threads: int | None = None):
        self.want_threads = threads
        try:
            import duckdb  # noqa: F401
        except ImportError as e:
            raise Skip(f"python package duckdb not installed ({e}); pip install -r bench/requirements.txt")
        self.duckdb = duckdb
        self.version = duckdb.__version__
        self.con = None

    def load(self, path: str) -> float:
        if self.con is not None:
            self.con.close()
        self.con = self.duckdb.connect(":memory:")
        if self.want_threads:
            self.con.execute(f"SET threads = {int(self.want_threads)}")
        self.threads = self.con.execute("SELECT current_setting('threads')").fetchone()[0]
        t = time.perf_counter()
        self.con.execute(f"CREATE TABLE events AS SELECT * FROM read_ndjson({_sql_str(path)}, "
                         f"columns = {DUCKDB_COLUMNS})")
        return time.perf_counter() - t

    def query(self, sql: str):
        return self.con.execute(sql).fetchall()

    def campaigns(self):
        return [r[0] for r in self.query("SELECT DISTINCT campaign_id FROM events ORDER BY 1")]

    def close(self):
        if self.con is not None:
            self.con.close()
            self.con = None


def _tsv_rows(text: str):
    rows = []
    for line in text.splitlines():
        if line:
            rows.append(tuple(None if v == "\\N" else v for v in line.split("\t")))
    return rows


class ChdbEngine:
    name = "chdb"
    dialect = staticmethod(clickhouse_sql)

    def __init__(self):
        try:
            import chdb
            from chdb import session  # noqa: F401
        except ImportError as e:
            raise Skip(f"python package chdb not installed ({e}); pip install -r bench/requirements.txt")
        self.chdb = chdb
        self.sess = None
        self.dir = None

    def _new_session(self):
        self.close()
        from chdb import session
        self.dir = tempfile.mkdtemp(prefix="peers-chdb-")
        self.sess = session.Session(self.dir)

    def _q(self, sql: str) -> str:
        res = self.sess.query(sql, "TabSeparated")
        return res.bytes().decode() if hasattr(res, "bytes") else str(res)

    def load(self, path: str) -> float:
        self._new_session()
        self.version = self._q("SELECT version()").strip()
        self.threads = self._q("SELECT getSetting('max_threads')").strip()
        self._q(CH_TABLE)
        schema = CH_SCHEMA.replace("'", "\\'")
        t = time.perf_counter()
        self._q(f"INSERT INTO events SELECT * FROM file({_ch_str(path)}, 'JSONEachRow', '{schema}') "
                f"SETTINGS {CH_INPUT_SETTINGS}")
        return time.perf_counter() - t

    def query(self, sql: str):
        return _tsv_rows(self._q(sql))

    def campaigns(self):
        return [r[0] for r in self.query("SELECT DISTINCT campaign_id FROM events ORDER BY 1")]

    def close(self):
        if self.sess is not None:
            try:
                self.sess.close()
            except Exception:
                pass
            self.sess = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("localhost", port), timeout=0.5):
            return True
    except OSError:
        return False


class ClickHouseServerEngine:
    """A ClickHouse server on localhost: HTTP on 8123, else `clickhouse-client` on 9000. Uses its own
    database `cams_peers_bench`, dropped afterwards."""
    name = "clickhouse"
    dialect = staticmethod(clickhouse_sql)
    DB = "cams_peers_bench"

    def __init__(self, url: str = "http://127.0.0.1:8123"):
        self.url = url.rstrip("/")
        u = urllib.parse.urlparse(self.url)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise Skip(f"--clickhouse-url {url}: only a server on this machine is used")
        self.http = _port_open(u.port or 8123)
        self.client = shutil.which("clickhouse-client") if not self.http else None
        if not self.http and not (self.client and _port_open(9000)):
            raise Skip(f"no ClickHouse server on localhost (nothing at {self.url}, and no clickhouse-client with 9000)")
        self.version = self._q("SELECT version()", db=None).strip()
        major = int(re.match(r"(\d+)", self.version).group(1))
        if major < 21:
            raise Skip(f"ClickHouse server {self.version} is too old (DateTime64, -OrNull: need >= 21)")
        self.threads = self._q("SELECT getSetting('max_threads')", db=None).strip()
        if not self.http:
            self.version += " via clickhouse-client (times include starting the client)"

    def _q(self, sql: str, db=DB, data_path: str | None = None, settings: dict | None = None) -> str:
        try:
            return self._q1(sql, db, data_path, settings)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"ClickHouse server: HTTP {e.code}: {e.read().decode(errors='replace')[:2000]}")
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"clickhouse-client: {e.stderr[:2000]}")

    def _q1(self, sql: str, db, data_path: str | None, settings: dict | None) -> str:
        if self.http:
            params = {"default_format": "TabSeparated"}
            if db:
                params["database"] = db
            params.update(settings or {})
            if data_path is None:
                url = self.url + "/?" + urllib.parse.urlencode(params)
                req = urllib.request.Request(url, data=sql.encode())
                with urllib.request.urlopen(req) as r:
                    return r.read().decode()
            params["query"] = sql
            url = self.url + "/?" + urllib.parse.urlencode(params)
            with open(data_path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                req = urllib.request.Request(url, data=f, method="POST",
                                             headers={"Content-Length": str(size)})
                with urllib.request.urlopen(req) as r:
                    return r.read().decode()
        cmd = [self.client, "--format", "TabSeparated", "--query", sql]
        if db:
            cmd[1:1] = ["--database", db]
        for k, v in (settings or {}).items():
            cmd.insert(1, f"--{k}={v}")
        stdin = open(data_path, "rb") if data_path else subprocess.DEVNULL
        try:
            return subprocess.run(cmd, stdin=stdin, capture_output=True, check=True, text=True).stdout
        finally:
            if data_path:
                stdin.close()

    def load(self, path: str) -> float:
        self._q(f"DROP DATABASE IF EXISTS {self.DB}", db=None)
        self._q(f"CREATE DATABASE {self.DB}", db=None)
        self._q(CH_TABLE)
        t = time.perf_counter()
        self._q("INSERT INTO events FORMAT JSONEachRow", data_path=path,
                settings={"date_time_input_format": "best_effort"})
        return time.perf_counter() - t

    def query(self, sql: str):
        return _tsv_rows(self._q(sql))

    def campaigns(self):
        return [r[0] for r in self.query("SELECT DISTINCT campaign_id FROM events ORDER BY 1")]

    def close(self):
        try:
            self._q(f"DROP DATABASE IF EXISTS {self.DB}", db=None)
        except Exception:
            pass


ENGINES = {"duckdb": DuckDBEngine, "chdb": ChdbEngine, "clickhouse": ClickHouseServerEngine}


# ----------------------------------------------------------------------------------------------------------

def peer_rows(engine, campaign: str, args, ctx) -> tuple[list[dict], float]:
    """The formatted rows of one campaign from one engine, and the seconds the SQL took."""
    sql = engine.dialect(campaign, args.tz, ctx["start"], ctx["stop"], ctx["inc"], ctx["by_country"])
    t = time.perf_counter()
    result = engine.query(sql)
    secs = time.perf_counter() - t
    per = ctx["periods"]
    zero = {"sent": 0, "delivered": 0, "read": 0, "failed": 0, "clicks": 0, "spend": 0}
    table: dict = {}
    for r in result:
        if ctx["by_country"]:
            p, country, *vals = r
        else:
            (p, *vals), country = r, False
        p = int(p)
        if not 0 <= p < len(per):
            raise RuntimeError(f"{engine.name}: period index {p} outside 0..{len(per)}")
        sent, delivered, read, failed, clicks = (int(v) for v in vals[:5])
        table[(p, country)] = {"sent": sent, "delivered": delivered, "read": read, "failed": failed,
                               "clicks": clicks, "spend": to_micros(vals[5])}
    rows = []
    if ctx["by_country"]:
        active = {c for (_, c) in table}
        ordered = sorted(c for c in active if c is not None) + ([None] if None in active else [])
        for i, (a, b) in enumerate(per):
            for c in ordered:
                rows.append(format_row(a, b, c, table.get((i, c), zero), args.currency, ctx["digits"]))
    else:
        for i, (a, b) in enumerate(per):
            rows.append(format_row(a, b, False, table.get((i, False), zero), args.currency, ctx["digits"]))
    return rows, secs


def compare(engine_name: str, ours: dict, theirs: dict, max_report: int = 20) -> list[str]:
    diffs = []
    for c in sorted(set(ours) | set(theirs)):
        a, b = ours.get(c), theirs.get(c)
        if a is None or b is None:
            diffs.append(f"{engine_name}: campaign {c}: present in {'peer' if a is None else 'ours'} only")
            continue
        if len(a) != len(b):
            diffs.append(f"{engine_name}: campaign {c}: {len(a)} rows ours, {len(b)} rows peer")
        for i, (ra, rb) in enumerate(zip(a, b)):
            for k in sorted(set(ra) | set(rb)):
                if ra.get(k) != rb.get(k):
                    label = f"{ra.get('DateStart')}..{ra.get('DateStop')}" + (
                        f" {ra.get('Country')}" if "Country" in ra else "")
                    diffs.append(f"{engine_name}: campaign {c} row {i} ({label}) {k}: ours {ra.get(k)!r} "
                                 f"peer {rb.get(k)!r}")
    if len(diffs) > max_report:
        diffs = diffs[:max_report] + [f"... and {len(diffs) - max_report} more"]
    return diffs


def run_ours(args) -> dict:
    cmd = [args.binary, "bench", "answer", "--file", args.file, "--tz", args.tz, "--currency", args.currency,
           "--date-start", args.date_start, "--date-stop", args.date_stop,
           "--time-increment", args.time_increment, "--breakdown", args.breakdown,
           "--iterations", str(args.iterations)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def _fmt_rate(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", help="NDJSON events (from `cams-insights bench gen`)")
    ap.add_argument("--engines", default="duckdb,chdb,clickhouse",
                    help="comma list of duckdb, chdb, clickhouse (a local server; skipped when absent)")
    ap.add_argument("--binary", default=os.path.join(here, "..", "target", "release", "cams-insights"))
    ap.add_argument("--tz", default="America/New_York")
    ap.add_argument("--currency", default="USD")
    ap.add_argument("--minor-digits", type=int, help="override the currency's minor-unit digits")
    ap.add_argument("--date-start", default="2025-06-30")
    ap.add_argument("--date-stop", default="2025-07-31")
    ap.add_argument("--time-increment", default="all_days")
    ap.add_argument("--breakdown", default="none", choices=["none", "country"])
    ap.add_argument("--runs", type=int, default=5, help="timed executions of the peer SQL (median)")
    ap.add_argument("--load-runs", type=int, default=1,
                    help="loads per engine, ours included (median rate); answers must be identical each time")
    ap.add_argument("--iterations", type=int, default=1000, help="our in-process queries per campaign (median)")
    ap.add_argument("--duckdb-threads", type=int, help="DuckDB threads (default: DuckDB's, = cores)")
    ap.add_argument("--clickhouse-url", default="http://127.0.0.1:8123",
                    help="a ClickHouse server's HTTP interface on this machine")
    ap.add_argument("--json", help="write the report here")
    ap.add_argument("--strict", action="store_true", help="exit 3 when a P7 target is missed")
    args = ap.parse_args()

    _self_test_formatting()
    args.file = os.path.abspath(args.file)
    if not os.path.isfile(args.file):
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    if not os.access(args.binary, os.X_OK):
        print(f"binary not found: {args.binary} (cargo build --release, or --binary)", file=sys.stderr)
        return 2
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", args.tz):
        print(f"bad --tz {args.tz!r}", file=sys.stderr)
        return 2
    start, stop = dt.date.fromisoformat(args.date_start), dt.date.fromisoformat(args.date_stop)
    if start > stop:
        print("--date-start is after --date-stop", file=sys.stderr)
        return 2
    inc = parse_increment(args.time_increment)
    digits = args.minor_digits if args.minor_digits is not None else MINOR_DIGITS.get(args.currency.upper())
    if digits is None:
        print(f"minor digits of {args.currency} unknown: pass --minor-digits", file=sys.stderr)
        return 2
    ctx = {"start": start, "stop": stop, "inc": inc, "by_country": args.breakdown == "country",
           "periods": periods(start, stop, inc), "digits": digits}
    size = os.path.getsize(args.file)
    print(f"file {args.file} ({size / 1e6:,.1f} MB); tz {args.tz}, {args.date_start}..{args.date_stop}, "
          f"increment {args.time_increment}, breakdown {args.breakdown}", flush=True)

    # 1. Ours.
    ours_runs = []
    for i in range(max(1, args.load_runs)):
        o = run_ours(args)
        if ours_runs and o["campaigns"] != ours_runs[0]["campaigns"]:
            print("our answers differ between runs", file=sys.stderr)
            return 1
        ours_runs.append(o)
        print(f"ours: {o['events']:,} events loaded in {o['load_seconds']:.3f} s "
              f"({o['load_events_per_sec']:,.0f} ev/s), query median {o['query_median_us']:.2f} µs", flush=True)
    ours = ours_runs[0]
    events = ours["events"]
    our_load_rate = statistics.median(o["load_events_per_sec"] for o in ours_runs)
    our_query_us = statistics.median(o["query_median_us"] for o in ours_runs)
    campaigns = sorted(ours["campaigns"])

    report = {
        "file": args.file, "file_bytes": size, "events": events, "campaigns": len(campaigns),
        "tz": args.tz, "currency": args.currency, "date_start": args.date_start, "date_stop": args.date_stop,
        "time_increment": args.time_increment, "breakdown": args.breakdown, "runs": args.runs,
        "load_runs": args.load_runs, "machine": {"cpus": os.cpu_count(), "platform": sys.platform},
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "ours": {"load_events_per_sec": our_load_rate, "query_median_us": our_query_us,
                 "load_note": "bench answer: the durable bulk import path (parallel parse, applied, fsync'd)"},
        "engines": {}, "skipped": {}, "all_matched": True,
    }

    # 2-5. Peers.
    mismatch = False
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if name not in ENGINES:
            print(f"unknown engine {name!r} (known: {', '.join(ENGINES)})", file=sys.stderr)
            return 2
        try:
            if name == "duckdb":
                eng = DuckDBEngine(args.duckdb_threads)
            elif name == "clickhouse":
                eng = ClickHouseServerEngine(args.clickhouse_url)
            else:
                eng = ENGINES[name]()
        except Skip as e:
            print(f"{name}: skipped: {e}", flush=True)
            report["skipped"][name] = str(e)
            continue
        try:
            load_secs = []
            for _ in range(max(1, args.load_runs)):
                load_secs.append(eng.load(args.file))
            n, ncamp, bad_kind, bad_country, empty_ids = (int(v) for v in eng.query(SANITY_SQL)[0])
            if n != events or ncamp != len(campaigns) or bad_kind or bad_country or empty_ids:
                raise RuntimeError(
                    f"{name}: loaded {n} events in {ncamp} campaigns (ours {events} in {len(campaigns)}); "
                    f"{bad_kind} unknown kinds, {bad_country} non-normalised countries, {empty_ids} empty "
                    "event ids (the SQL expects `bench gen` output)")
            peer_campaigns = eng.campaigns()
            load_s = statistics.median(load_secs)
            print(f"{name} {eng.version} (threads {eng.threads}): {n:,} events loaded in {load_s:.3f} s "
                  f"({n / load_s:,.0f} ev/s)", flush=True)
            # Check every campaign (this also warms the engine up).
            theirs = {}
            for c in peer_campaigns:
                theirs[c], _ = peer_rows(eng, c, args, ctx)
            diffs = compare(name, ours["campaigns"], theirs)
            matched = not diffs
            rows_checked = sum(len(v) for v in ours["campaigns"].values())
            if diffs:
                mismatch = True
                print(f"{name}: MISMATCH with ours:", file=sys.stderr)
                for d in diffs:
                    print("  " + d, file=sys.stderr)
            else:
                print(f"{name}: all {rows_checked} rows x {len(WIRE_FIELDS) + ctx['by_country']} fields of "
                      f"{len(campaigns)} campaign(s) equal ours", flush=True)
            # Time it: one campaign per execution, rotating over the campaigns.
            times = []
            for i in range(args.runs):
                _, secs = peer_rows(eng, peer_campaigns[i % len(peer_campaigns)], args, ctx)
                times.append(secs)
            q_ms = statistics.median(times) * 1e3
            print(f"{name}: query median {q_ms:,.1f} ms over {args.runs} runs "
                  f"(min {min(times) * 1e3:,.1f}, max {max(times) * 1e3:,.1f})", flush=True)
            report["engines"][name] = {
                "version": eng.version, "threads": str(eng.threads), "load_seconds": load_s,
                "load_seconds_all": load_secs, "load_events_per_sec": n / load_s,
                "query_median_ms": q_ms, "query_ms_all": [t * 1e3 for t in times],
                "matched": matched, "rows_checked": rows_checked, "diffs": diffs,
            }
        finally:
            eng.close()

    # Table.
    duck = report["engines"].get("duckdb")
    duck_rate = duck["load_events_per_sec"] if duck else None
    lines = []
    hdr = (f"{'engine':<34} {'load ev/s':>12} {'vs DuckDB':>9} {'query ms':>10} {'ours µs':>9} "
           f"{'peer/ours':>10}  {'match':<5} P7")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    load_ratio = our_load_rate / duck_rate if duck_rate else None
    ok_load = load_ratio is not None and load_ratio >= 0.5
    lines.append(f"{'cams-insights (durable import)':<34} {_fmt_rate(our_load_rate):>12} "
                 f"{(f'{load_ratio:.2f}x' if load_ratio else '-'):>9} {our_query_us / 1e3:>10.4f} "
                 f"{our_query_us:>9.2f} {'':>10}  {'':<5} "
                 f"{'load >= 0.5x DuckDB: ' + ('PASS' if ok_load else 'FAIL') if load_ratio else ''}")
    targets = {"load_vs_duckdb": load_ratio, "load_target_met": ok_load if load_ratio else None,
               "query_speedup": {}}
    all_query_ok = True
    for name, e in report["engines"].items():
        ratio = e["query_median_ms"] * 1e3 / our_query_us if our_query_us else None
        e["query_ratio_vs_ours"] = ratio
        ok = ratio is not None and ratio >= 100
        all_query_ok &= ok
        targets["query_speedup"][name] = {"ratio": ratio, "met": ok}
        vs = e["load_events_per_sec"] / duck_rate if duck_rate else None
        label = f"{name} {e['version']} ({e['threads']} thr)"
        lines.append(f"{label:<34} {_fmt_rate(e['load_events_per_sec']):>12} "
                     f"{(f'{vs:.2f}x' if vs else '-'):>9} {e['query_median_ms']:>10.1f} {our_query_us:>9.2f} "
                     f"{(f'{ratio:,.0f}x' if ratio else '-'):>10}  {('yes' if e['matched'] else 'NO'):<5} "
                     f"query >= 100x: {'PASS' if ok else 'FAIL'}")
    report["targets"] = targets
    report["all_matched"] = not mismatch
    print()
    print(f"P7 — {events:,} events, {len(campaigns)} campaign(s), increment {args.time_increment}, "
          f"breakdown {args.breakdown}")
    print("\n".join(lines))
    print("ours: load = `bench answer`, the path of `import --data-dir`: parallel parse, metrics applied, every "
          "batch committed to disk; query = in-process median per campaign through the store. Peers: load = raw "
          "NDJSON into a table; query = one campaign's insights recomputed from the raw events (median).")
    report["table"] = lines
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"report written to {args.json}")
    if mismatch:
        print("FAILED: a peer's answer differs from ours (see above)", file=sys.stderr)
        return 1
    if args.strict and (not all_query_ok or (load_ratio is not None and not ok_load)):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
