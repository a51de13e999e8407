//! The reports, spaces and members listings, shared by the backends: each
//! reads one page of maintained rows by an index, plus a count, in one
//! snapshot of a [`Session`].

use std::sync::LazyLock;

use super::listing_version::{self, PositionCache};
use super::session::{Param, Row, Session, Statement, selected_columns};
use super::{Page, PageRequest, StoreResult, WorkspaceId};
use crate::domain::Timestamp;
use crate::domain::listings::{MemberRow, ReportRow, SpaceRow, updated_at};
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
    let start = listing_version::locate(session, positions, workspace, all, page.offset()).await?;
    let params = start.params(page.per_page);
    let read = |row: &dyn Row| Ok(ReportRow::from(ReportColumns::from_row(row)?));
    let items = session.all(REPORTS_PAGE.with(&params), read).await?;
    Ok(Page::new(start.total_count, items))
}

selected_columns! {
    /// One row of [`SPACES_PAGE`], as read.
    pub struct SpaceColumns {
        space_id: i64,
        space_token: String,
        name: String,
        description: Option<String>,
        space_type: String,
    }
}

impl From<SpaceColumns> for SpaceRow {
    fn from(columns: SpaceColumns) -> Self {
        SpaceRow {
            id: columns.space_id,
            token: columns.space_token,
            name: columns.name,
            description: columns.description,
            space_type: columns.space_type,
        }
    }
}

/// Spaces upserted and not deleted; personal ones only if `$2`.
const LISTED_SPACES: &str = "FROM spaces
    WHERE workspace_id = $1 AND definition_at IS NOT NULL AND NOT deleted
      AND ($2 OR space_type <> 'private')";

pub static SPACES_COUNT: LazyLock<Statement> =
    LazyLock::new(|| Statement::new(format!("SELECT count(*) {LISTED_SPACES}")));

/// `$3` is the limit, `$4` the offset.
pub static SPACES_PAGE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} {LISTED_SPACES}
    ORDER BY space_id LIMIT $3 OFFSET $4",
        SpaceColumns::select_list("")
    ))
});

/// A page of spaces (upserted, not deleted), by id.
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

selected_columns! {
    /// One row of [`MEMBERS_PAGE`], as read.
    pub struct MemberColumns {
        email: String,
        username: Option<String>,
        name: Option<String>,
    }
}

impl From<MemberColumns> for MemberRow {
    fn from(columns: MemberColumns) -> Self {
        MemberRow {
            email: columns.email,
            username: columns.username,
            name: columns.name,
        }
    }
}

pub static MEMBERS_COUNT: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new("SELECT count(*) FROM members WHERE workspace_id = $1 AND present")
});

/// `$2` is the limit, `$3` the offset.
pub static MEMBERS_PAGE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} FROM members
    WHERE workspace_id = $1 AND present
    ORDER BY email LIMIT $2 OFFSET $3",
        MemberColumns::select_list("")
    ))
});

/// A page of present members, by email.
pub async fn members(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    page: PageRequest,
) -> StoreResult<Page<MemberRow>> {
    let read = |row: &dyn Row| Ok(MemberRow::from(MemberColumns::from_row(row)?));
    let listing = [workspace.into()];
    counted_page(
        session,
        (&MEMBERS_COUNT, &MEMBERS_PAGE),
        &listing,
        page,
        read,
    )
    .await
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
