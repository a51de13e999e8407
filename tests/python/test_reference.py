"""The reference (reference.py) against the fixture's own expectations, with
no server: if these fail, the reference is wrong, not reportstats."""

from conftest import USAGE_EXPECTED

# The fixture leaves out what the server assigns.
ASSIGNED = {"id", "space_id", "query_id"}


def without_assigned(rows: dict) -> dict:
    return {token: {field: value for field, value in row.items() if field not in ASSIGNED}
            for token, row in rows.items()}


def test_the_reference_computes_the_fixtures_queries(usage_reference):
    assert without_assigned(usage_reference.query_rows(False)) == USAGE_EXPECTED["queries_by_token"]


def test_the_reference_computes_the_fixtures_charts(usage_reference):
    assert without_assigned(usage_reference.chart_rows(False)) == USAGE_EXPECTED["charts_by_token"]


def test_the_reference_computes_the_fixtures_member_objects(usage_reference):
    assert usage_reference.member_objects() == USAGE_EXPECTED["members"]


def test_the_fixture_holds_what_the_clients_must_survive(usage_reference):
    """A deleted space and a never-upserted one, both with listed reports;
    and personal reports, queries and charts that only include_spaces=all
    lists: else the client tests below would prove less than they say."""
    spaces = {row["token"]: row for row in usage_reference.joined_space_rows("acme", False)}
    assert spaces["sp11x0002"]["name"] == "Team 2" and usage_reference.spaces["sp11x0002"]["deleted"]
    assert spaces["sp11never"] | {"id": None} == {
        "id": None, "token": "sp11never", "name": "sp11never", "description": None, "space_type": "custom",
        "space_url": "/api/acme/spaces/sp11never"}
    for listing in (usage_reference.query_rows, usage_reference.chart_rows):
        assert len(listing(True)) > len(listing(False)) > 0


def test_the_reference_never_breaks_a_join(usage_reference):
    """SPEC 5, "Joins never break": every space of a listed report, query or
    chart is listed by /spaces, and every chart's query by /queries, under
    the same include_spaces."""
    for include_all in (False, True):
        spaces = {row["token"] for row in usage_reference.joined_space_rows("acme", include_all)}
        queries = usage_reference.query_rows(include_all)
        charts = usage_reference.chart_rows(include_all)
        reports = usage_reference.report_rows("acme", include_all)
        for row in [*reports, *queries.values(), *charts.values()]:
            assert row["space_token"] in spaces
        assert {chart["query_token"] for chart in charts.values()} <= set(queries)
