//! The SQL of the reports, spaces and members listings, shared by the
//! backends (in PostgreSQL's `$n` form). Each reads one page of maintained
//! rows by an index, plus a count.

use super::listing_version::LISTED_REPORTS;
use crate::domain::Timestamp;
use crate::domain::listings::{ReportRow, updated_at};

/// The columns [`ReportColumns`] holds, in its order, for the reports
/// `report_stats` lists: after report id `$5`, `$3` of them from offset `$4`
/// (positions and count are `report_stats`', see [`super::listing_version`]).
pub fn reports_page_sql() -> String {
    format!(
        "SELECT r.report_id, r.report_token, r.name, r.description, r.created_at, r.edited_at,
        r.definition_at, r.space_at, r.last_run_at, r.last_run_token, r.last_run_state,
        r.last_successful_run_at, r.last_viewed_at, r.creator_email, r.space_token
    {LISTED_REPORTS}
      AND r.report_id > $5
    ORDER BY r.report_id LIMIT $3 OFFSET $4"
    )
}

/// One row of [`reports_page_sql`], as read.
pub struct ReportColumns {
    pub report_id: i64,
    pub report_token: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub created_at: Option<i64>,
    pub edited_at: Option<i64>,
    pub definition_at: Option<i64>,
    pub space_at: Option<i64>,
    pub last_run_at: Option<i64>,
    pub last_run_token: Option<String>,
    pub last_run_state: Option<String>,
    pub last_successful_run_at: Option<i64>,
    pub last_viewed_at: Option<i64>,
    pub creator_email: Option<String>,
    pub space_token: Option<String>,
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

/// Spaces upserted and not deleted; personal ones only if `$2`.
const LISTED_SPACES: &str = "FROM spaces
    WHERE workspace_id = $1 AND definition_at IS NOT NULL AND NOT deleted
      AND ($2 OR space_type <> 'private')";

pub fn spaces_count_sql() -> String {
    format!("SELECT count(*) {LISTED_SPACES}")
}

/// `space_id, space_token, name, description, space_type`.
pub fn spaces_page_sql() -> String {
    format!(
        "SELECT space_id, space_token, name, description, space_type {LISTED_SPACES}
    ORDER BY space_id LIMIT $3 OFFSET $4"
    )
}

pub const MEMBERS_COUNT_SQL: &str =
    "SELECT count(*) FROM members WHERE workspace_id = $1 AND present";

/// `email, username, name`; `$2` is the limit, `$3` the offset.
pub const MEMBERS_PAGE_SQL: &str = "SELECT email, username, name FROM members
    WHERE workspace_id = $1 AND present
    ORDER BY email LIMIT $2 OFFSET $3";
