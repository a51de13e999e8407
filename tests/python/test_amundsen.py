"""Amundsen's `ModeDashboardUsageExtractor` (amundsen-databuilder on PyPI),
unchanged but for the host of its hard-coded https://app.mode.com URLs,
against reportstats."""

import base64
from unittest import mock

import requests as real_requests
from pyhocon import ConfigFactory

from conftest import expected, mint

MODE_HOST = "https://app.mode.com"


class Redirected:
    """Stands in for `requests` inside databuilder's REST client only,
    pointing its Mode URLs at the test server."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def get(self, url, **kwargs):
        assert url.startswith(MODE_HOST), url
        return real_requests.get(self.base_url + url[len(MODE_HOST):], **kwargs)

    def __getattr__(self, name):
        return getattr(real_requests, name)


def test_the_usage_extractor_gets_one_record_per_shared_report_with_its_views(server):
    from databuilder import Scoped
    from databuilder.extractor.dashboard.mode_analytics.mode_dashboard_constants import (
        MODE_BEARER_TOKEN, ORGANIZATION,
    )
    from databuilder.extractor.dashboard.mode_analytics.mode_dashboard_usage_extractor import (
        ModeDashboardUsageExtractor,
    )
    from databuilder.rest_api import rest_api_query

    signature = mint(server)
    bearer = "Bearer " + base64.b64encode(
        f"{signature.token}:{signature.access_key}:{signature.access_secret}".encode()).decode()

    extractor = ModeDashboardUsageExtractor()
    scope = extractor.get_scope()
    config = ConfigFactory.from_dict({
        f"{scope}.{ORGANIZATION}": server.workspace,
        f"{scope}.{MODE_BEARER_TOKEN}": bearer,
    })
    extractor.init(Scoped.get_scoped_conf(config, scope))
    records = []
    with mock.patch.object(rest_api_query, "requests", Redirected(server.base_url)):
        while (record := extractor.extract()) is not None:
            records.append(dict(record))

    stats = expected(False)
    assert len(records) == len(stats)
    views = {row["report_token"]: row["view_count"] for row in stats}
    assert {record["dashboard_id"]: record["accumulated_view_count"] for record in records} == views
    for record in records:
        assert record["organization"] == server.workspace
        assert record["dashboard_group_id"].startswith("sp11x")
        assert record["product"] == "mode"
