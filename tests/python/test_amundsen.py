"""Amundsen's `ModeDashboardUsageExtractor` (amundsen-databuilder on PyPI),
unchanged but for the host of its hard-coded https://app.mode.com URLs,
against reportstats' report statistics (small.ndjson). All nine extractors
over every listing are in test_amundsen_extractors.py."""

from conftest import expected, mint
from extractors import run


def test_the_usage_extractor_gets_one_record_per_shared_report_with_its_views(server):
    records, _requested = run("mode_dashboard_usage_extractor", server, mint(server), include_all_space=False)

    stats = expected(False)
    assert len(records) == len(stats)
    views = {row["report_token"]: row["view_count"] for row in stats}
    assert {record["dashboard_id"]: record["accumulated_view_count"] for record in records} == views
    for record in records:
        assert record["organization"] == server.workspace
        assert record["dashboard_group_id"].startswith("sp11x")
        assert record["product"] == "mode"
