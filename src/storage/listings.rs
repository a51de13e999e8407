//! The reports, spaces, members, queries and charts listings, shared by the backends: each
//! reads one page of maintained rows by an index, plus a count, in one
//! snapshot of a [`Session`].

use std::collections::HashMap;
use std::sync::LazyLock;

use super::listing_version::{self, CATALOG_VERSION, Listing, ListingKind, PositionCache};
use super::session::{Param, Row, Session, Statement, selected_columns};
use super::{Page, PageRequest, StoreResult, WorkspaceId};
use crate::domain::Timestamp;
use crate::domain::event::SpaceType;
use crate::domain::listings::{ChartRow, MemberRow, QueryRow, ReportRow, SpaceRow, updated_at};
use crate::domain::stats::SpaceFilter;

selected_columns! {
    /// One row of [`REPORTS_PAGE`], as read.
    pub struct ReportColumns {
        report_id: i64,
        report_token: Option<String>,
        name: Option<String>,
        description: Option<String>,
        created_at: Option<i64>,
        edited_at: Option<i64>,
        definition_at: Option<i64>,
        space_at: Option<i64>,
        last_run_at: Option<i64>,
        last_run_token: Option<String>,
        last_run_state: Option<String>,
        last_successful_run_at: Option<i64>,
        last_viewed_at: Option<i64>,
        creator_email: Option<String>,
        space_token: Option<String>,
    }
}

impl From<ReportColumns> for ReportRow {
    fn from(columns: ReportColumns) -> Self {
        let at = |micros: Option<i64>| micros.map(Timestamp::from_micros);
        ReportRow {
            id: columns.report_id,
            token: columns.report_token.unwrap_or_default(),
            name: columns.name,
            description: columns.description,
            created_at: at(columns.created_at),
            edited_at: at(columns.edited_at),
            updated_at: updated_at([
                at(columns.definition_at),
                at(columns.edited_at),
                at(columns.space_at),
            ]),
            last_run_at: at(columns.last_run_at),
            last_run_token: columns.last_run_token,
            last_run_state: columns.last_run_state,
            last_successfully_run_at: at(columns.last_successful_run_at),
            last_viewed_at: at(columns.last_viewed_at),
            creator_email: columns.creator_email,
            space_token: columns.space_token,
        }
    }
}

/// The reports `report_stats` lists, whole, a page of them (see
/// [`listing_version::PageStart`]).
pub static REPORTS_PAGE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(listing_version::listed_page_sql(
        &ReportColumns::select_list("r."),
    ))
});

/// A page of live reports, by id.
pub async fn reports(
    session: &mut dyn Session,
    positions: &PositionCache,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<ReportRow>> {
    let all = filter == SpaceFilter::All;
    let start = listing_version::locate(
        session,
        positions,
        &listing_version::REPORTS,
        (workspace, all),
        page.offset(),
    )
    .await?;
    let params = start.params(page.per_page);
    let read = |row: &dyn Row| Ok(ReportRow::from(ReportColumns::from_row(row)?));
    let items = session.all(REPORTS_PAGE.with(&params), read).await?;
    Ok(Page::new(start.total_count, items))
}

/// The live report with the token `$2`, in any space: the smallest id if
/// two were ever given one token.
pub static REPORT_BY_TOKEN: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} FROM reports r
    WHERE r.workspace_id = $1 AND r.report_token = $2
      AND r.definition_at IS NOT NULL AND NOT r.deleted
    ORDER BY r.report_id LIMIT 1",
        ReportColumns::select_list("r.")
    ))
});

/// The live report with this token (`/api/{workspace}/reports/{token}`).
pub async fn report(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    token: &str,
) -> StoreResult<Option<ReportRow>> {
    let read = |row: &dyn Row| Ok(ReportRow::from(ReportColumns::from_row(row)?));
    let rows = session
        .all(
            REPORT_BY_TOKEN.with(&[workspace.into(), token.into()]),
            read,
        )
        .await?;
    Ok(rows.into_iter().next())
}

selected_columns! {
    /// One row of [`SPACES_PAGE`], as read.
    pub struct SpaceColumns {
        space_id: i64,
        space_token: String,
        name: Option<String>,
        description: Option<String>,
        space_type: Option<String>,
    }
}

impl From<SpaceColumns> for SpaceRow {
    fn from(columns: SpaceColumns) -> Self {
        SpaceRow {
            id: columns.space_id,
            // Never upserted: its token as its name, a custom space.
            name: columns.name.unwrap_or_else(|| columns.space_token.clone()),
            token: columns.space_token,
            description: columns.description,
            space_type: columns
                .space_type
                .unwrap_or_else(|| SpaceType::Custom.as_str().to_owned()),
        }
    }
}

/// Spaces upserted and not deleted, and those a listed report is in
/// (deleted, or only mentioned by its reports); personal ones only if `$2`.
/// See [`crate::domain::listings::compute_spaces`].
const LISTED_SPACES: &str = "FROM spaces s
    WHERE s.workspace_id = $1
      AND ($2 OR s.space_type IS NULL OR s.space_type <> 'private')
      AND ((s.definition_at IS NOT NULL AND NOT s.deleted)
        OR EXISTS (SELECT 1 FROM reports r /*live_by_space*/
            WHERE r.workspace_id = s.workspace_id AND r.space_token = s.space_token
              AND r.definition_at IS NOT NULL AND NOT r.deleted))";

pub static SPACES_COUNT: LazyLock<Statement> =
    LazyLock::new(|| Statement::new(format!("SELECT count(*) {LISTED_SPACES}")));

/// `$3` is the limit, `$4` the offset.
pub static SPACES_PAGE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} {LISTED_SPACES}
    ORDER BY s.space_id LIMIT $3 OFFSET $4",
        SpaceColumns::select_list("s.")
    ))
});

/// The space `$3`, if the listing (personal spaces only if `$2`) has it.
pub static SPACE_BY_TOKEN: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} {LISTED_SPACES} AND s.space_token = $3",
        SpaceColumns::select_list("s.")
    ))
});

/// The space with this token, as `/spaces?include_spaces=all` lists it
/// (`/api/{workspace}/spaces/{token}`).
pub async fn space(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    token: &str,
) -> StoreResult<Option<SpaceRow>> {
    let read = |row: &dyn Row| Ok(SpaceRow::from(SpaceColumns::from_row(row)?));
    let params = [workspace.into(), true.into(), token.into()];
    let rows = session.all(SPACE_BY_TOKEN.with(&params), read).await?;
    Ok(rows.into_iter().next())
}

/// A page of spaces (listed, or carried by a listed report), by id.
pub async fn spaces(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<SpaceRow>> {
    let listing = [workspace.into(), (filter == SpaceFilter::All).into()];
    let read = |row: &dyn Row| Ok(SpaceRow::from(SpaceColumns::from_row(row)?));
    counted_page(session, (&SPACES_COUNT, &SPACES_PAGE), &listing, page, read).await
}

/// The name of space `$2` as the spaces listing writes it (its token, if it
/// was never upserted); no row if it has none.
static SPACE_NAME: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT coalesce(name, space_token) FROM spaces
    WHERE workspace_id = $1 AND space_token = $2",
    )
});

/// The names of the spaces with these tokens, by token, as the spaces
/// listing names them: what a few rows need, where the listing of every
/// space would read a workspace's thousands of personal spaces. A token
/// with no space row is left out (a row then shows the token itself).
pub async fn space_names(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    tokens: &[String],
) -> StoreResult<HashMap<String, String>> {
    let mut names = HashMap::with_capacity(tokens.len());
    for token in tokens {
        let params = [workspace.into(), token.as_str().into()];
        let name: Option<String> = session
            .first(SPACE_NAME.with(&params), |row| row.get(0))
            .await?;
        if let Some(name) = name {
            names.insert(token.clone(), name);
        }
    }
    Ok(names)
}

selected_columns! {
    /// One row of [`MEMBERS_PAGE`], as read.
    pub struct MemberColumns {
        member_id: i64,
        email: String,
        username: Option<String>,
        name: Option<String>,
        activated_at: Option<i64>,
        last_report_created_at: Option<i64>,
        last_report_viewed_at: Option<i64>,
        last_report_run_at: Option<i64>,
        last_exploration_created_at: Option<i64>,
        last_active_at: Option<i64>,
    }
}

impl MemberColumns {
    fn into_row(self, total_days_engaged: i64) -> MemberRow {
        let at = |micros: Option<i64>| micros.map(Timestamp::from_micros);
        MemberRow {
            id: self.member_id,
            email: self.email,
            username: self.username,
            name: self.name,
            activated_at: at(self.activated_at),
            last_report_created_at: at(self.last_report_created_at),
            last_report_viewed_at: at(self.last_report_viewed_at),
            last_report_run_at: at(self.last_report_run_at),
            last_exploration_created_at: at(self.last_exploration_created_at),
            last_active_at: at(self.last_active_at),
            total_days_engaged: u64::try_from(total_days_engaged).unwrap_or(0),
        }
    }
}

/// A member's `total_days_engaged`, selected after [`MemberColumns`].
const DAYS_ENGAGED: &str = "(SELECT count(*) FROM member_active_days d
            WHERE d.workspace_id = m.workspace_id AND d.email = m.email) AS total_days_engaged";

pub static MEMBERS_COUNT: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new("SELECT count(*) FROM members WHERE workspace_id = $1 AND present")
});

/// `$2` is the limit, `$3` the offset. The days are counted here, for the
/// page's members only: a member's active days are a set, which merges
/// keep without knowing which of its days are new.
pub static MEMBERS_PAGE: LazyLock<Statement> =
    LazyLock::new(|| present_members("ORDER BY m.member_id LIMIT $2 OFFSET $3"));

/// Present members with their days: `rest` narrows and orders them.
fn present_members(rest: &str) -> Statement {
    Statement::new(present_members_sql(rest))
}

pub(super) fn present_members_sql(rest: &str) -> String {
    format!(
        "SELECT {}, {DAYS_ENGAGED}
    FROM members m
    WHERE m.workspace_id = $1 AND m.present {rest}",
        MemberColumns::select_list("m.")
    )
}

/// A member as [`present_members`] selects it.
pub(super) fn read_member(row: &dyn Row) -> StoreResult<MemberRow> {
    let days: i64 = row.get(MemberColumns::COUNT)?;
    Ok(MemberColumns::from_row(row)?.into_row(days))
}

/// A page of present members, by id.
pub async fn members(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    page: PageRequest,
) -> StoreResult<Page<MemberRow>> {
    let listing = [workspace.into()];
    counted_page(
        session,
        (&MEMBERS_COUNT, &MEMBERS_PAGE),
        &listing,
        page,
        read_member,
    )
    .await
}

/// The present members whose username is `$2`.
pub static MEMBERS_BY_USERNAME: LazyLock<Statement> =
    LazyLock::new(|| present_members("AND m.username = $2 ORDER BY m.member_id"));

/// Every present member.
pub static PRESENT_MEMBERS: LazyLock<Statement> =
    LazyLock::new(|| present_members("ORDER BY m.member_id"));

/// The present member whose username is `handle`, or else whose member
/// token is: Mode's clients follow `/api/{username}` links, and a member
/// without a username is linked by member token. The token is derived from
/// the email (a hash SQL does not compute), so that second lookup reads the
/// workspace's members: one indexed range, thousands of rows at most.
pub async fn member(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    handle: &str,
) -> StoreResult<Option<MemberRow>> {
    let read = read_member;
    let by_username = session
        .all(
            MEMBERS_BY_USERNAME.with(&[workspace.into(), handle.into()]),
            read,
        )
        .await?;
    if let Some(member) = by_username.into_iter().next() {
        return Ok(Some(member));
    }
    let all = session
        .all(PRESENT_MEMBERS.with(&[workspace.into()]), read)
        .await?;
    Ok(all
        .into_iter()
        .find(|member| member.member_token() == handle))
}

selected_columns! {
    /// One row of [`QUERIES_PAGE`], as read.
    pub struct QueryColumns {
        query_id: i64,
        query_token: String,
        name: Option<String>,
        raw_query: Option<String>,
        creator_email: Option<String>,
        data_source_token: Option<String>,
        report_id: i64,
        report_token: Option<String>,
        space_token: Option<String>,
        created_at: Option<i64>,
        updated_at: Option<i64>,
    }
}

impl From<QueryColumns> for QueryRow {
    fn from(columns: QueryColumns) -> Self {
        let at = |micros: Option<i64>| micros.map(Timestamp::from_micros);
        QueryRow {
            id: columns.query_id,
            token: columns.query_token,
            name: columns.name.unwrap_or_default(),
            raw_query: columns.raw_query.unwrap_or_default(),
            creator_email: columns.creator_email.unwrap_or_default(),
            data_source_token: columns.data_source_token.unwrap_or_default(),
            report_id: columns.report_id,
            report_token: columns.report_token.unwrap_or_default(),
            space_token: columns.space_token,
            created_at: at(columns.created_at),
            updated_at: at(columns.updated_at),
        }
    }
}

/// Queries created and not deleted whose report is listed (see
/// [`listing_version::LISTED_REPORTS`]); personal spaces only if `$2`,
/// read through `queries_index`. A walk of it (through `queries_by_id`)
/// reads indexes only: the live queries' and reports'. A page reads through
/// the table itself, which on SQLite holds the queries in id order, so that
/// the rows of a page are neighbours.
///
/// `CROSS JOIN` keeps SQLite's planner to this order (PostgreSQL's finds
/// it anyway): by the listing's order first, so a page reads only its rows.
fn listed_queries(queries_index: &str) -> String {
    format!(
        "FROM queries q {queries_index}
    CROSS JOIN reports r /*live*/
    LEFT JOIN spaces s ON s.workspace_id = r.workspace_id AND s.space_token = r.space_token
    WHERE q.workspace_id = $1 AND q.definition_at IS NOT NULL AND NOT q.deleted
      AND r.workspace_id = q.workspace_id AND r.report_id = q.report_id
      AND r.definition_at IS NOT NULL AND NOT r.deleted
      AND ($2 OR s.space_type IS NULL OR s.space_type <> 'private')"
    )
}

/// The walk's index: see [`listed_queries`].
const QUERIES_WALK: &str = "/*queries_by_id*/";

pub static QUERIES_COUNT: LazyLock<Statement> =
    LazyLock::new(|| Statement::new(format!("SELECT count(*) {}", listed_queries(QUERIES_WALK))));

/// The listed query ids from `$3` on: what positions are computed from.
pub static LISTED_QUERY_IDS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT q.query_id {} AND q.query_id >= $3 ORDER BY q.query_id",
        listed_queries(QUERIES_WALK)
    ))
});

/// The listed queries, paged by remembered positions like the reports.
pub static QUERIES: Listing = Listing {
    kind: ListingKind::Queries,
    version: &CATALOG_VERSION,
    ids: &LISTED_QUERY_IDS,
    count: &QUERIES_COUNT,
    cheap_count: false,
};

/// A page from a [`listing_version::PageStart`].
///
/// PostgreSQL's planner, given the joins, joins every listed query to its
/// report and sorts them all for one page (1.3–1.6 s at 170,000 queries:
/// BENCHMARKS.md, part 5); there each query of the page finds its report
/// in a `LATERAL` lookup, fenced by `OFFSET 0` so that it stays one, and
/// the ordered walk of the queries' index stops at the page's end.
/// SQLite has no `LATERAL`, and walks in order anyway (see
/// [`listed_queries`]).
pub static QUERIES_PAGE: LazyLock<Statement> = LazyLock::new(|| {
    let columns = QueryColumns::select_list_with(&[
        ("report_id", "q."),
        ("report_token", "r."),
        ("space_token", "r."),
        ("", "q."),
    ]);
    let postgres = format!(
        "SELECT {columns} FROM queries q
    CROSS JOIN LATERAL (SELECT r.report_token, r.space_token FROM reports r
        WHERE r.workspace_id = q.workspace_id AND r.report_id = q.report_id
          AND r.definition_at IS NOT NULL AND NOT r.deleted AND {NOT_PERSONAL}
        OFFSET 0) r
    WHERE q.workspace_id = $1 AND q.definition_at IS NOT NULL AND NOT q.deleted
      AND q.query_id > $5
    ORDER BY q.query_id LIMIT $3 OFFSET $4"
    );
    let shared = format!(
        "SELECT {columns} {}
      AND q.query_id > $5
    ORDER BY q.query_id LIMIT $3 OFFSET $4",
        listed_queries("")
    );
    Statement::per_dialect(postgres, &shared)
});

/// Report `r` is not in a personal space, unless `$2` counts those too: the
/// listings' space filter, as a condition on the report alone.
const NOT_PERSONAL: &str = "($2 OR NOT EXISTS (SELECT 1 FROM spaces s
            WHERE s.workspace_id = r.workspace_id AND s.space_token = r.space_token
              AND s.space_type = 'private'))";

/// A page of listed queries, by id.
pub async fn queries(
    session: &mut dyn Session,
    positions: &PositionCache,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<QueryRow>> {
    let read = |row: &dyn Row| Ok(QueryRow::from(QueryColumns::from_row(row)?));
    let listing = (&QUERIES, &*QUERIES_PAGE);
    positioned_page(session, positions, listing, (workspace, filter), page, read).await
}

selected_columns! {
    /// One row of [`CHARTS_PAGE`], as read.
    pub struct ChartColumns {
        chart_id: i64,
        chart_token: String,
        chart_type: Option<String>,
        chart_title: Option<String>,
        query_id: i64,
        query_token: String,
        report_id: i64,
        report_token: Option<String>,
        space_token: Option<String>,
        creator_email: Option<String>,
    }
}

impl From<ChartColumns> for ChartRow {
    fn from(columns: ChartColumns) -> Self {
        ChartRow {
            id: columns.chart_id,
            token: columns.chart_token,
            chart_type: columns.chart_type.unwrap_or_default(),
            chart_title: columns.chart_title,
            query_id: columns.query_id,
            query_token: columns.query_token,
            report_id: columns.report_id,
            report_token: columns.report_token.unwrap_or_default(),
            space_token: columns.space_token,
            report_creator_email: columns.creator_email,
        }
    }
}

/// Charts created and not deleted whose query is listed; a walk of it
/// reads indexes only, in this order (see [`listed_queries`]).
const LISTED_CHARTS: &str = "FROM charts c /*charts_by_id*/
    CROSS JOIN queries q /*queries_live_by_token*/
    CROSS JOIN reports r /*live*/
    LEFT JOIN spaces s ON s.workspace_id = r.workspace_id AND s.space_token = r.space_token
    WHERE c.workspace_id = $1 AND c.definition_at IS NOT NULL AND NOT c.deleted
      AND q.workspace_id = c.workspace_id AND q.query_token = c.query_token
      AND q.definition_at IS NOT NULL AND NOT q.deleted
      AND r.workspace_id = q.workspace_id AND r.report_id = q.report_id
      AND r.definition_at IS NOT NULL AND NOT r.deleted
      AND ($2 OR s.space_type IS NULL OR s.space_type <> 'private')";

pub static CHARTS_COUNT: LazyLock<Statement> =
    LazyLock::new(|| Statement::new(format!("SELECT count(*) {LISTED_CHARTS}")));

/// The listed chart ids from `$3` on: what positions are computed from.
pub static LISTED_CHART_IDS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT c.chart_id {LISTED_CHARTS} AND c.chart_id >= $3 ORDER BY c.chart_id"
    ))
});

/// The listed charts, paged by remembered positions like the reports.
pub static CHARTS: Listing = Listing {
    kind: ListingKind::Charts,
    version: &CATALOG_VERSION,
    ids: &LISTED_CHART_IDS,
    count: &CHARTS_COUNT,
    cheap_count: false,
};

/// A page from a [`listing_version::PageStart`]: the wide rows (a query's
/// id is in its row, not in the join's index) are read for its rows only.
/// On PostgreSQL each chart finds its query and report in one fenced
/// `LATERAL` lookup, for the reason [`QUERIES_PAGE`] gives.
pub static CHARTS_PAGE: LazyLock<Statement> = LazyLock::new(|| {
    let columns = chart_columns;
    let postgres = format!(
        "SELECT {} FROM charts c
    CROSS JOIN LATERAL (
        SELECT q.query_id, q.report_id, r.report_token, r.space_token, r.creator_email
        FROM queries q CROSS JOIN reports r
        WHERE q.workspace_id = c.workspace_id AND q.query_token = c.query_token
          AND q.definition_at IS NOT NULL AND NOT q.deleted
          AND r.workspace_id = q.workspace_id AND r.report_id = q.report_id
          AND r.definition_at IS NOT NULL AND NOT r.deleted AND {NOT_PERSONAL}
        OFFSET 0) j
    WHERE c.workspace_id = $1 AND c.definition_at IS NOT NULL AND NOT c.deleted
      AND c.chart_id > $5
    ORDER BY c.chart_id LIMIT $3 OFFSET $4",
        columns("j.", "j.")
    );
    let shared = format!(
        "SELECT {} {LISTED_CHARTS}
      AND c.chart_id > $5
    ORDER BY c.chart_id LIMIT $3 OFFSET $4",
        columns("q.", "r.")
    );
    Statement::per_dialect(postgres, &shared)
});

/// [`ChartColumns`] of chart `c`, its query's columns from `query` and its
/// report's from `report` (table aliases with their dot).
fn chart_columns(query: &str, report: &str) -> String {
    ChartColumns::select_list_with(&[
        ("query_id", query),
        ("report_id", query),
        ("report_token", report),
        ("space_token", report),
        ("creator_email", report),
        ("", "c."),
    ])
}

/// The live queries of report `$2`, by id, whatever its space.
pub static QUERIES_OF_REPORT: LazyLock<Statement> = LazyLock::new(|| {
    let columns = QueryColumns::select_list_with(&[
        ("report_id", "q."),
        ("report_token", "r."),
        ("space_token", "r."),
        ("", "q."),
    ]);
    Statement::new(format!(
        "SELECT {columns} FROM queries q /*queries_by_report*/ CROSS JOIN reports r
    WHERE q.workspace_id = $1 AND q.report_id = $2
      AND q.definition_at IS NOT NULL AND NOT q.deleted
      AND r.workspace_id = q.workspace_id AND r.report_id = q.report_id
    ORDER BY q.query_id"
    ))
});

/// The live charts of report `$2`'s live queries, by id.
pub static CHARTS_OF_REPORT: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} FROM queries q /*queries_by_report*/
    CROSS JOIN charts c /*charts_by_query*/ CROSS JOIN reports r
    WHERE q.workspace_id = $1 AND q.report_id = $2
      AND q.definition_at IS NOT NULL AND NOT q.deleted
      AND c.workspace_id = q.workspace_id AND c.query_token = q.query_token
      AND c.definition_at IS NOT NULL AND NOT c.deleted
      AND r.workspace_id = q.workspace_id AND r.report_id = q.report_id
    ORDER BY c.chart_id",
        chart_columns("q.", "r.")
    ))
});

/// A report's queries and charts (the dashboard's report page).
pub async fn report_catalog(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    report_id: i64,
) -> StoreResult<(Vec<QueryRow>, Vec<ChartRow>)> {
    let params = [workspace.into(), report_id.into()];
    let read = |row: &dyn Row| Ok(QueryRow::from(QueryColumns::from_row(row)?));
    let queries = session.all(QUERIES_OF_REPORT.with(&params), read).await?;
    let read = |row: &dyn Row| Ok(ChartRow::from(ChartColumns::from_row(row)?));
    let charts = session.all(CHARTS_OF_REPORT.with(&params), read).await?;
    Ok((queries, charts))
}

/// A page of listed charts, by id.
pub async fn charts(
    session: &mut dyn Session,
    positions: &PositionCache,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<ChartRow>> {
    let read = |row: &dyn Row| Ok(ChartRow::from(ChartColumns::from_row(row)?));
    let listing = (&CHARTS, &*CHARTS_PAGE);
    positioned_page(session, positions, listing, (workspace, filter), page, read).await
}

/// A page of a listing paged by remembered positions: `rows` takes
/// [`listing_version::PageStart::params`].
async fn positioned_page<T: Send>(
    session: &mut dyn Session,
    positions: &PositionCache,
    (listing, rows): (&Listing, &Statement),
    (workspace, filter): (WorkspaceId, SpaceFilter),
    page: PageRequest,
    read: impl FnMut(&dyn Row) -> StoreResult<T> + Send,
) -> StoreResult<Page<T>> {
    let all = filter == SpaceFilter::All;
    let start =
        listing_version::locate(session, positions, listing, (workspace, all), page.offset())
            .await?;
    let items = session
        .all(rows.with(&start.params(page.per_page)), read)
        .await?;
    Ok(Page::new(start.total_count, items))
}

/// A page by `LIMIT` and `OFFSET`: `count` and `rows` take the listing's
/// parameters, `rows` then the limit and the offset.
async fn counted_page<T: Send>(
    session: &mut dyn Session,
    (count, rows): (&Statement, &Statement),
    listing: &[Param<'_>],
    page: PageRequest,
    read: impl FnMut(&dyn Row) -> StoreResult<T> + Send,
) -> StoreResult<Page<T>> {
    let total: i64 = session.one(count.with(listing)).await?;
    let limit = i64::try_from(page.per_page).unwrap_or(i64::MAX);
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    let mut params = listing.to_vec();
    params.extend([Param::from(limit), Param::from(offset)]);
    let items = session.all(rows.with(&params), read).await?;
    Ok(Page::new(u64::try_from(total).unwrap_or(0), items))
}
