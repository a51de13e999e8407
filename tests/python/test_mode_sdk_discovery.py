"""Every Discovery method of `mode-sdk` 0.1.0, unchanged, against the usage
workspace: `per_page` 7, so that each listing spans pages the SDK walks by
`_links.next_page`, and `include_spaces` on and off where the method takes
it (`collections` and `members` take none). Rows must equal the reference
(reference.py) row for row; ids the server assigns are held to what the
SPEC says of them (assigned.py)."""

import pytest
from mode_sdk import Discovery

from assigned import assert_member_identity, assert_ordered_by_id, by_email, by_token, identities
from conftest import USAGE_NOW, mint
from reference import instant

PER_PAGE = 7
INCLUDE_SPACES = pytest.mark.parametrize("include_all", [False, True], ids=["own-spaces", "include-spaces-all"])


def scope(include_all: bool) -> dict:
    return {"include_spaces": "all"} if include_all else {}


def walk(listing):
    """The rows of every page, and Mode's own total for them."""
    rows = [row.raw for row in listing]
    assert listing.total_count == len(rows)
    return rows


@pytest.fixture
def discovery(usage_server):
    with Discovery(usage_server.workspace, signature=mint(usage_server), base_url=usage_server.base_url,
                   max_retries=0) as discovery:
        yield discovery


@INCLUDE_SPACES
def test_report_stats_equal_the_reference(discovery, usage_reference, include_all):
    rows = walk(discovery.report_stats(per_page=PER_PAGE, **scope(include_all)))
    assert len(rows) > PER_PAGE
    assert rows == usage_reference.report_stats(instant(USAGE_NOW), include_all)


@INCLUDE_SPACES
def test_reports_equal_the_reference(discovery, usage_reference, include_all):
    rows = walk(discovery.reports(per_page=PER_PAGE, **scope(include_all)))
    assert rows == usage_reference.report_rows(discovery.workspace_name, include_all)


@INCLUDE_SPACES
def test_queries_equal_the_reference(discovery, usage_reference, include_all):
    rows = walk(discovery.queries(per_page=PER_PAGE, **scope(include_all)))
    assert_ordered_by_id(rows)
    assert by_token(rows, "id") == usage_reference.query_rows(include_all)
    # Stable: the same query has the same id whatever the listing's scope.
    others = walk(discovery.queries(**scope(not include_all)))
    shared = {row["token"]: row["id"] for row in rows}.items() & {row["token"]: row["id"] for row in others}.items()
    assert len(shared) == min(len(rows), len(others))


@INCLUDE_SPACES
def test_charts_equal_the_reference_and_name_listed_queries(discovery, usage_reference, include_all):
    rows = walk(discovery.charts(per_page=PER_PAGE, **scope(include_all)))
    assert_ordered_by_id(rows)
    assert by_token(rows, "id", "query_id", "exploration_url") == usage_reference.chart_rows(include_all)
    queries = {row["token"]: row["id"] for row in walk(discovery.queries(**scope(include_all)))}
    for chart in rows:
        assert chart["query_id"] == queries[chart["query_token"]], chart
        # Root-relative: a path on this server, not another host's.
        url = chart["exploration_url"]
        assert isinstance(url, str) and url.startswith("/") and not url.startswith("//"), chart


def test_collections_list_every_space_a_listed_report_is_in(discovery, usage_reference):
    rows = walk(discovery.collections(per_page=PER_PAGE))
    assert rows == usage_reference.joined_space_rows(discovery.workspace_name, False)


def test_members_are_modes_member_objects(discovery, usage_reference):
    rows = walk(discovery.members(per_page=PER_PAGE))
    assert len(rows) > PER_PAGE
    # Ordered by id like every listing; the ids are the server's to derive.
    assert_ordered_by_id(rows)
    assert by_email(rows) == by_email(usage_reference.member_objects())
    for row in rows:
        assert_member_identity(row)
    assert len({row["member_token"] for row in rows}) == len({row["token"] for row in rows}) == len(rows)
    assert identities(walk(discovery.members())) == identities(rows)
