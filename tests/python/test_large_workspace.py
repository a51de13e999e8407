"""A workspace of more than 2,000 reports, walked through all four batch
endpoints with `mode-sdk`, every row checked against an independent
computation (reference.py) over the same events."""

import os
import subprocess

import pytest
from mode_sdk import Discovery

from assigned import assert_ordered_by_id, by_email
from conftest import BIN, FIXTURE_NOW, mint, start_server
from reference import Workspace, instant


@pytest.fixture
def large_server(database_url, tmp_path):
    events = tmp_path / "events.ndjson"
    subprocess.run(
        [BIN, "generate", "--reports", "2100", "--members", "80", "--shared-spaces", "12", "--views", "12000",
         "--duplicate-fraction", "0.02", "--seed", "42", "--end", "2026-10-31T12:00:00Z", "--output", str(events)],
        check=True, capture_output=True, env={**os.environ, "RUST_LOG": "warn"},
    )
    process, server = start_server(database_url, events)
    try:
        yield server, Workspace(events.read_text().splitlines())
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_mode_sdk_walks_every_endpoint_of_a_large_workspace(large_server):
    server, reference = large_server
    as_of = instant(FIXTURE_NOW)
    assert len(reference.report_rows(server.workspace, True)) > 2000
    signature = mint(server)
    with Discovery(server.workspace, signature=signature, base_url=server.base_url) as discovery:
        for include_all in (False, True):
            scope = {"include_spaces": "all"} if include_all else {}
            stats = [row.raw for row in discovery.report_stats(per_page=1000, **scope)]
            assert stats == reference.report_stats(as_of, include_all)
            reports = [row.raw for row in discovery.reports(per_page=1000, **scope)]
            assert reports == reference.report_rows(server.workspace, include_all)
        spaces = [row.raw for row in discovery.collections(per_page=5)]
        assert spaces == reference.joined_space_rows(server.workspace, False)
        members = [row.raw for row in discovery.members(per_page=7)]
        assert_ordered_by_id(members)
        assert by_email(members) == by_email(reference.member_objects())
