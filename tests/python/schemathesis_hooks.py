"""What schemathesis needs to know that no OpenAPI document can say.

Loaded by tests/contract.rs (SCHEMATHESIS_HOOKS=schemathesis_hooks). Only
how an NDJSON body is written, which instants the server under test
accepts and the one rule between two query parameters (`usage_daily`'s
`from` and `to`) are here: what the server accepts otherwise is the
document's to say, and every check schemathesis has is run against it.
"""

import json
import os
import re
from datetime import date, datetime, timedelta, timezone

import schemathesis
from hypothesis import strategies as st


@schemathesis.serializer("application/x-ndjson")
def ndjson(context, value):
    """The document gives an NDJSON body the schema of the events it holds,
    an array; on the wire it is one event a line."""
    if isinstance(value, list):
        return "\n".join(json.dumps(item) for item in value).encode()
    return json.dumps(value).encode()


# The server's clock is frozen at this instant. An `occurred_at` may be up
# to 5 minutes after it and an `expires_at` must be after it: the instants
# in between suit both.
NOW = datetime.fromisoformat(os.environ["REPORTSTATS_CONTRACT_NOW"].replace("Z", "+00:00"))
EARLIEST, LATEST = NOW + timedelta(seconds=1), NOW + timedelta(minutes=5)


def rfc3339(instant, offset_minutes=0, timespec="seconds"):
    text = instant.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat(timespec=timespec)
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


# Every `date-time` is drawn from that window, written with any offset and
# with 0, 3 or 6 decimals.
schemathesis.openapi.format(
    "date-time",
    st.builds(
        rfc3339,
        st.datetimes(
            min_value=EARLIEST.replace(tzinfo=None), max_value=LATEST.replace(tzinfo=None)
        ).map(lambda naive: naive.replace(tzinfo=timezone.utc)),
        st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda quarters: 15 * quarters),
        st.sampled_from(["seconds", "milliseconds", "microseconds"]),
    ),
)

# schemathesis also reuses values the server answered with, such as a
# token's `created_at` (the frozen instant itself) as an `expires_at`. Such
# an instant, moved into the window, is as good a test and one the server
# accepts. Anything that is not an RFC 3339 instant is left as it is.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.ASCII)
INSTANT_FIELDS = ("occurred_at", "expires_at")


def in_window(value):
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        return value
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return value if EARLIEST <= instant <= LATEST else rfc3339(EARLIEST)


def instants_in_window(value):
    if isinstance(value, dict):
        return {
            key: in_window(item) if key in INSTANT_FIELDS else instants_in_window(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [instants_in_window(item) for item in value]
    return value


@schemathesis.hook
def map_body(context, body):
    return instants_in_window(body)


# `usage_daily` answers for `from` up to `to`, at most 366 days, both
# included; the document says so in words, since no schema can relate two
# parameters. A drawn pair that breaks the rule becomes the nearest pair
# that keeps it (tests/usage.rs checks the 400s of those that do not).
DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)


def as_date(value):
    if not isinstance(value, str) or not DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@schemathesis.hook
def map_query(context, query):
    if not isinstance(query, dict) or not context.operation.path.endswith("/usage_daily"):
        return query
    start, end = as_date(query.get("from")), as_date(query.get("to"))
    if start is None or ("to" in query and end is None):
        return query
    # Without `to`, the server's date (its frozen clock's) ends the range.
    end = end or NOW.date()
    if start > end:
        start, end = end, start
    end = min(end, start + timedelta(days=365))
    return {**query, "from": start.isoformat(), "to": end.isoformat()}
