"""Runs Amundsen's Mode extractors (amundsen-databuilder, unchanged) against a
test server, and turns what they emit into plain dicts to compare.

The extractors hard-code Mode's host in their URL templates; the only change
made to them is that host: `requests` inside databuilder's REST client is
swapped for `Redirected`, which sends each request to the test server with
the same path, query string, headers and auth."""

import base64
import importlib
import inspect
from unittest import mock

import requests as real_requests
from databuilder import Scoped
from databuilder.rest_api import rest_api_query
from pyhocon import ConfigFactory

# The charts extractor's template says http://, the others https://.
MODE_HOSTS = ("https://app.mode.com", "http://app.mode.com")

PACKAGE = "databuilder.extractor.dashboard.mode_analytics"

# The nine extractors in databuilder/extractor/dashboard/mode_analytics/, by
# module and class.
EXTRACTORS = {
    "mode_dashboard_extractor": "ModeDashboardExtractor",
    "mode_dashboard_charts_batch_extractor": "ModeDashboardChartsBatchExtractor",
    "mode_dashboard_executions_extractor": "ModeDashboardExecutionsExtractor",
    "mode_dashboard_last_modified_timestamp_extractor": "ModeDashboardLastModifiedTimestampExtractor",
    "mode_dashboard_last_successful_executions_extractor": "ModeDashboardLastSuccessfulExecutionExtractor",
    "mode_dashboard_owner_extractor": "ModeDashboardOwnerExtractor",
    "mode_dashboard_queries_extractor": "ModeDashboardQueriesExtractor",
    "mode_dashboard_usage_extractor": "ModeDashboardUsageExtractor",
    "mode_dashboard_user_extractor": "ModeDashboardUserExtractor",
}


class Redirected:
    """Stands in for `requests` inside databuilder's REST client only,
    pointing its Mode URLs at the test server and noting each one."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.requested = []

    def get(self, url, **kwargs):
        host = next((host for host in MODE_HOSTS if url.startswith(host)), None)
        assert host is not None, f"an extractor asked for {url}, not Mode"
        self.requested.append(url)
        return real_requests.get(self.base_url + url[len(host):], **kwargs)

    def __getattr__(self, name):
        return getattr(real_requests, name)


def bearer(signature) -> str:
    """The Discovery header value, as Mode's docs tell Amundsen users to
    configure `mode_bearer_token`."""
    triple = f"{signature.token}:{signature.access_key}:{signature.access_secret}"
    return "Bearer " + base64.b64encode(triple.encode()).decode()


def extractor_class(module: str):
    return getattr(importlib.import_module(f"{PACKAGE}.{module}"), EXTRACTORS[module])


def run(module: str, server, signature, include_all_space: bool):
    """Every record the extractor emits until it says it is done, as plain
    dicts, and the URLs it asked for."""
    extractor = extractor_class(module)()
    scope = extractor.get_scope()
    config = ConfigFactory.from_dict({
        f"{scope}.organization": server.workspace,
        f"{scope}.mode_bearer_token": bearer(signature),
        # The user extractor calls Mode's REST API with the workspace key.
        f"{scope}.mode_user_token": server.token,
        f"{scope}.mode_password_token": server.secret,
        f"{scope}.include_all_space": include_all_space,
    })
    extractor.init(Scoped.get_scoped_conf(config, scope))
    redirected = Redirected(server.base_url)
    records = []
    with mock.patch.object(rest_api_query, "requests", redirected):
        while (record := extractor.extract()) is not None:
            # Extractors that end in a ChainedTransformer hand back a
            # generator of records rather than a record.
            records.extend(record if inspect.isgenerator(record) else [record])
    return [plain(record) for record in records], redirected.requested


def plain(record) -> dict:
    """A record's data: the dict itself, or a model's attributes without its
    iterators and bookkeeping sets (leading underscores dropped)."""
    if isinstance(record, dict):
        return dict(record)
    return {
        name.lstrip("_"): value for name, value in vars(record).items()
        if isinstance(value, (str, int, float, bool, list, dict, type(None)))
    }
