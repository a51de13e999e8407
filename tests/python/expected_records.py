"""What each Amundsen Mode extractor must emit, derived from the reference
listings (reference.py) by the extractor's own transformation as its source
reads (amundsen-databuilder 7.5.1; see EXTRACTOR_NOTES.md for the reading).

Each function builds the dicts the extractor hands to its record class and
builds the record with that class, so the comparison is of what Amundsen
would load, field by field. Only the charts extractor reads
`include_all_space`; the others ask for the default listings whatever it
says."""

from datetime import datetime

from databuilder.models.dashboard.dashboard_chart import DashboardChart
from databuilder.models.dashboard.dashboard_execution import DashboardExecution
from databuilder.models.dashboard.dashboard_last_modified import DashboardLastModifiedTimestamp
from databuilder.models.dashboard.dashboard_metadata import DashboardMetadata
from databuilder.models.dashboard.dashboard_owner import DashboardOwner
from databuilder.models.dashboard.dashboard_query import DashboardQuery
from databuilder.models.user import User

from extractors import plain
from reference import instant

MODE = "https://app.mode.com"


def epoch(text):
    """TimestampStringToEpoch: whole seconds since 1970 (fractions cut), or
    the missing value left as it is."""
    return None if text is None else int(instant(text).timestamp())


def dashboard_metadata(reference, workspace, as_of: datetime, include_all_space: bool):
    spaces = {space["token"]: space for space in reference.joined_space_rows(workspace, False)}
    records = []
    for report in reference.report_rows(workspace, False):
        space = spaces[report["space_token"]]
        records.append(DashboardMetadata(
            dashboard_group=space["name"], dashboard_name=report["name"], description=report["description"],
            product="mode", dashboard_group_id=report["space_token"], dashboard_id=report["token"],
            dashboard_group_description=space["description"], created_timestamp=epoch(report["created_at"]),
            dashboard_group_url=f"{MODE}/{workspace}/spaces/{report['space_token']}",
            dashboard_url=f"{MODE}/{workspace}/reports/{report['token']}",
        ))
    return records


def charts(reference, workspace, as_of, include_all_space):
    return [
        DashboardChart(
            dashboard_group_id=chart["space_token"], dashboard_id=chart["report_token"],
            query_id=chart["query_token"], chart_id=chart["token"], chart_name=chart["chart_title"],
            chart_type=chart["chart_type"], product="mode",
        )
        for chart in reference.chart_rows(include_all_space).values()
    ]


def executions(reference, workspace, as_of, include_all_space):
    return [
        DashboardExecution(
            dashboard_group_id=report["space_token"], dashboard_id=report["token"],
            execution_timestamp=epoch(report["last_run_at"]), execution_state=report["last_run_state"],
            product="mode",
        )
        for report in reference.report_rows(workspace, False)
    ]


def last_modified(reference, workspace, as_of, include_all_space):
    return [
        DashboardLastModifiedTimestamp(
            dashboard_group_id=report["space_token"], dashboard_id=report["token"],
            last_modified_timestamp=epoch(report["edited_at"]), product="mode",
        )
        for report in reference.report_rows(workspace, False)
    ]


def last_successful_executions(reference, workspace, as_of, include_all_space):
    # The state is the extractor's constant, not the report's last state.
    return [
        DashboardExecution(
            dashboard_group_id=report["space_token"], dashboard_id=report["token"],
            execution_timestamp=epoch(report["last_successfully_run_at"]), execution_state="succeeded",
            execution_id=DashboardExecution.LAST_SUCCESSFUL_EXECUTION_ID, product="mode",
        )
        for report in reference.report_rows(workspace, False)
    ]


def owners(reference, workspace, as_of, include_all_space):
    return [
        DashboardOwner(dashboard_group_id=report["space_token"], dashboard_id=report["token"],
                       email=report["creator_email"], product="mode")
        for report in reference.report_rows(workspace, False)
    ]


def queries(reference, workspace, as_of, include_all_space):
    # The extractor doubles backslashes, for Cypher.
    return [
        DashboardQuery(
            dashboard_group_id=query["space_token"], dashboard_id=query["report_token"],
            query_name=query["name"], query_id=query["token"],
            url=f"{MODE}/{workspace}/reports/{query['report_token']}/queries/{query['token']}",
            query_text=query["raw_query"].replace("\\", "\\\\"), product="mode",
        )
        for query in reference.query_rows(False).values()
    ]


def usage(reference, workspace, as_of, include_all_space):
    """Plain dicts: this extractor has no record class."""
    reports = {report["token"]: report for report in reference.report_rows(workspace, False)}
    spaces = {space["token"]: space for space in reference.joined_space_rows(workspace, False)}
    records = []
    for stats in reference.report_stats(as_of, False):
        space = spaces[reports[stats["report_token"]]["space_token"]]
        records.append({
            "organization": workspace, "dashboard_id": stats["report_token"],
            "accumulated_view_count": stats["view_count"], "dashboard_group_id": space["token"],
            "dashboard_group": space["name"], "dashboard_group_description": space["description"],
            "product": "mode",
        })
    return records


def users(reference, workspace, as_of, include_all_space):
    # `mode_user_id` is the membership's username, kept as an extra attribute.
    return [
        User(email=member["email"], is_active=None, updated_at=None, do_not_update_empty_attribute=True,
             mode_user_id=member["username"])
        for member in reference.member_rows()
    ]


EXPECTED = {
    "mode_dashboard_extractor": dashboard_metadata,
    "mode_dashboard_charts_batch_extractor": charts,
    "mode_dashboard_executions_extractor": executions,
    "mode_dashboard_last_modified_timestamp_extractor": last_modified,
    "mode_dashboard_last_successful_executions_extractor": last_successful_executions,
    "mode_dashboard_owner_extractor": owners,
    "mode_dashboard_queries_extractor": queries,
    "mode_dashboard_usage_extractor": usage,
    "mode_dashboard_user_extractor": users,
}


def expected_records(module, reference, workspace, as_of, include_all_space):
    return [plain(record) for record in EXPECTED[module](reference, workspace, as_of, include_all_space)]
