"""All nine of Amundsen's Mode extractors (amundsen-databuilder 7.5.1,
unchanged but for the host), with `include_all_space` on and off, against
the usage workspace: each one finishes, and its records equal, record for
record, what the reference listings predict through that extractor's own
transformation (expected_records.py)."""

import json

import pytest

from conftest import USAGE_NOW, mint
from expected_records import expected_records
from extractors import EXTRACTORS, run
from reference import instant


def canonical(records):
    """Records in one order: the extractors emit the server's order, which
    for queries and charts follows ids the server assigns."""
    return sorted(records, key=lambda record: json.dumps(record, sort_keys=True, default=str))


@pytest.mark.parametrize("include_all_space", [False, True], ids=["own-spaces", "include-all-space"])
@pytest.mark.parametrize("module", list(EXTRACTORS))
def test_the_extractor_finishes_with_the_records_the_spec_predicts(
        usage_server, usage_reference, module, include_all_space):
    records, requested = run(module, usage_server, mint(usage_server), include_all_space)
    expected = expected_records(module, usage_reference, usage_server.workspace, instant(USAGE_NOW),
                                include_all_space)
    assert expected, "the fixture gives this extractor nothing to read"
    assert canonical(records) == canonical(expected)
    if module == "mode_dashboard_charts_batch_extractor" and include_all_space:
        # The one URL that relies on SPEC 5's tolerant query strings.
        assert requested == ["http://app.mode.com/batch/acme/charts?include_spaces=all?page=1"]
