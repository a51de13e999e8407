//! The statements of `report_usage` pages: how a page walks the listed
//! reports (in report order, or down the index of the key it is sorted
//! by), each field's SQL over the day tables or the counts kept per
//! report, the filters, and where a page starts (by number, or after a
//! cursor's row, in two seeks). Built once per sort, direction, source of
//! counts and start ([`PAGES`]); [`super`] binds and runs them.

use std::sync::LazyLock;

use crate::domain::timestamp::MICROS_PER_DAY;
use crate::domain::usage::{UsageField, UsageSort};
use crate::storage::listing_version::LISTED_REPORTS;
use crate::storage::session::Statement;

/// The UTC date (days since the epoch) of an instant column: floor
/// division, so that instants before 1970 fall on their own date too.
pub(in crate::storage) fn day_of(micros: &str) -> String {
    format!(
        "(CASE WHEN {micros} >= 0 THEN {micros} / {MICROS_PER_DAY} \
         ELSE ({micros} + 1) / {MICROS_PER_DAY} - 1 END)"
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Postgres,
    Sqlite,
}

/// Where a page's counts over windows come from: the day tables, which
/// answer for any date, or the counts kept per report, when they end on
/// the page's date (see [`crate::storage::usage_windows`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Counts {
    Computed,
    Kept,
}

/// How a page walks the listed reports: in report order, down the index
/// of their views of all time, or down the index of the kept count it is
/// sorted by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    Reports,
    Views,
    Windows,
}

impl Walk {
    /// [`LISTED_REPORTS`] so walked, each report with its windows row `w`
    /// if `windows` (every report row has one, made with it).
    fn listed(self, windows: bool) -> String {
        let (from, condition) = ("FROM reports r /*live*/", "WHERE r.workspace_id = $1");
        assert!(LISTED_REPORTS.starts_with(from) && LISTED_REPORTS.contains(condition));
        let with_windows = "CROSS JOIN report_windows w WHERE r.workspace_id = $1
      AND w.workspace_id = r.workspace_id AND w.report_id = r.report_id";
        match self {
            Walk::Reports if windows => LISTED_REPORTS.replacen(condition, with_windows, 1),
            Walk::Reports => LISTED_REPORTS.to_owned(),
            Walk::Views => {
                let listed = LISTED_REPORTS.replacen(from, "FROM reports r /*live_by_views*/", 1);
                if windows {
                    listed.replacen(condition, with_windows, 1)
                } else {
                    listed
                }
            }
            Walk::Windows => LISTED_REPORTS
                .replacen(from, "FROM report_windows w CROSS JOIN reports r", 1)
                .replacen(
                    condition,
                    "WHERE w.workspace_id = $1
      AND r.workspace_id = w.workspace_id AND r.report_id = w.report_id",
                    1,
                ),
        }
    }

    /// How a page sorted by `field` walks, given where its counts come
    /// from: down an index if there is one for its key.
    fn of(field: UsageField, counts: Counts) -> Self {
        match field {
            UsageField::TotalViewsCount => Walk::Views,
            UsageField::Views7d
            | UsageField::Views30d
            | UsageField::Views90d
            | UsageField::Viewers7d
            | UsageField::Viewers30d
            | UsageField::Viewers90d
                if counts == Counts::Kept =>
            {
                Walk::Windows
            }
            _ => Walk::Reports,
        }
    }
}

/// The parameters of [`PAGES`] and [`COUNT`](super::COUNT), in order.
///
/// `$1` workspace, `$2` whether personal spaces count, `$3` the first date
/// of `unviewed_days`' window, `$4` the space, `$5` the name text in lower
/// case, `$6` the one report (each `NULL` when not asked for): what the
/// count takes. The page adds `$7`–`$9` the first dates of the 7-, 30- and
/// 90-day windows, `$10` D, `$11` its size and `$12` its offset.
///
/// `listed` is [`LISTED_REPORTS`] or one of its [`Walk`]s; `ids` narrows
/// the range of report ids further ([`IdBounds`]).
pub(super) fn filter_sql(dialect: Dialect, listed: &str, ids: IdBounds) -> String {
    let (contains, greatest, least) = match dialect {
        Dialect::Postgres => ("strpos(lower(r.name), $5) > 0", "GREATEST", "LEAST"),
        Dialect::Sqlite => ("instr(reportstats_lower(r.name), $5) > 0", "max", "min"),
    };
    // A range rather than `$6 IS NULL OR …`: one report reads one entry of
    // the index, on both backends (`MIN + 1`: PostgreSQL reads the literal
    // `-9223372036854775808` as a numeric).
    let (lowest, highest) = (
        format!("coalesce($6, {})", i64::MIN + 1),
        format!("coalesce($6, {})", i64::MAX),
    );
    let from = match ids.from {
        Some(from) => format!("{greatest}({lowest}, {from})"),
        None => lowest,
    };
    let to = match ids.to {
        Some(to) => format!("{least}({highest}, {to})"),
        None => highest,
    };
    format!(
        "{listed}
      AND ($3 IS NULL OR r.last_viewed_at IS NULL OR {} < $3)
      AND ($4 IS NULL OR r.space_token = $4)
      AND ($5 IS NULL OR {contains})
      AND r.report_id BETWEEN {from} AND {to}",
        day_of("r.last_viewed_at"),
    )
}

/// Where the walk of a page after a cursor starts and ends, when it goes
/// by report id (`r.report_id`, as its key or its tie): put into the
/// filter's range of report ids, rather than as a `>` beside it, so that
/// the index range starts there. SQLite ranges an index over one lower
/// bound and, given the filter's and the cursor's, took the filter's:
/// each page of an export by `report_id` read every report before it
/// (a million reports took seven minutes). Both bounds are inclusive; the
/// cursor's own condition still excludes its row.
#[derive(Clone, Copy, Default)]
pub(super) struct IdBounds {
    from: Option<&'static str>,
    to: Option<&'static str>,
}

/// The report's views in the window from `$n` on.
fn views_since(since: &str) -> String {
    format!(
        "CAST((SELECT coalesce(sum(d.views), 0) FROM report_days d
        WHERE d.workspace_id = r.workspace_id AND d.report_id = r.report_id AND d.day >= {since})
        AS BIGINT)"
    )
}

/// The report's distinct viewers in the window from `since` on: those
/// whose latest view of it is in the window (later dates count as in it).
fn viewers_since(since: &str) -> String {
    format!(
        "(SELECT count(*) FROM report_viewers p
        WHERE p.workspace_id = r.workspace_id AND p.report_id = r.report_id
          AND p.last_day >= {since})"
    )
}

/// The report's runs (`failed_runs` or the two triggers') in the 30 days.
fn runs_since(counted: &str) -> String {
    format!(
        "CAST((SELECT coalesce(sum({counted}), 0) FROM report_days d
        WHERE d.workspace_id = r.workspace_id AND d.report_id = r.report_id AND d.day >= $8)
        AS BIGINT)"
    )
}

/// A field's SQL over report `r` and its windows row `w`, and whether it
/// can be `NULL`.
fn field_sql(field: UsageField, dialect: Dialect, counts: Counts) -> (String, bool) {
    let name = match dialect {
        // Byte order on both backends (SPEC section 8).
        Dialect::Postgres => "r.name COLLATE \"C\"",
        Dialect::Sqlite => "r.name",
    };
    match field {
        UsageField::ReportId => ("r.report_id".into(), false),
        UsageField::Name => (name.into(), true),
        UsageField::CreatedAt => ("r.created_at".into(), true),
        UsageField::LastViewedAt => ("r.last_viewed_at".into(), true),
        UsageField::DaysSinceLastView => (format!("$10 - {}", day_of("r.last_viewed_at")), true),
        UsageField::TotalViewsCount => ("r.view_count".into(), false),
        // The viewers of all time hold for every date.
        UsageField::TotalViewersCount => ("w.total_viewers".into(), false),
        UsageField::Views7d
        | UsageField::Views30d
        | UsageField::Views90d
        | UsageField::Viewers7d
        | UsageField::Viewers30d
        | UsageField::Viewers90d
        | UsageField::Runs30d
        | UsageField::FailedRuns30d
            if counts == Counts::Kept =>
        {
            (format!("w.{}", field.as_str()), false)
        }
        UsageField::Views7d => (views_since("$7"), false),
        UsageField::Views30d => (views_since("$8"), false),
        UsageField::Views90d => (views_since("$9"), false),
        UsageField::Viewers7d => (viewers_since("$7"), false),
        UsageField::Viewers30d => (viewers_since("$8"), false),
        UsageField::Viewers90d => (viewers_since("$9"), false),
        UsageField::Runs30d => (runs_since("d.manual_runs + d.scheduled_runs"), false),
        UsageField::FailedRuns30d => (runs_since("d.failed_runs"), false),
        UsageField::ActiveSchedulesCount => (
            format!(
                "(SELECT count(*) FROM schedules sc
        WHERE sc.workspace_id = r.workspace_id AND sc.report_id = r.report_id AND {})",
                crate::storage::report_stats::ACTIVE_SCHEDULE
            ),
            false,
        ),
    }
}

/// The columns of a row as [`read_row`](super::read_row) reads them.
pub(super) const ROW_FIELDS: [UsageField; 15] = [
    UsageField::TotalViewsCount,
    UsageField::Views7d,
    UsageField::Views30d,
    UsageField::Views90d,
    UsageField::TotalViewersCount,
    UsageField::Viewers7d,
    UsageField::Viewers30d,
    UsageField::Viewers90d,
    UsageField::LastViewedAt,
    UsageField::DaysSinceLastView,
    UsageField::Runs30d,
    UsageField::FailedRuns30d,
    UsageField::ActiveSchedulesCount,
    UsageField::ReportId,
    UsageField::CreatedAt,
];

/// `ORDER BY` terms for `key` (an expression or a column): `null`s last
/// either way, ties by `tie` (`report_id`).
pub(in crate::storage) fn order_by(
    key: &str,
    nullable: bool,
    descending: bool,
    tie: &str,
) -> String {
    let direction = if descending { " DESC" } else { "" };
    let nulls = if nullable {
        format!("({key} IS NULL), ")
    } else {
        String::new()
    };
    format!("{nulls}{key}{direction}, {tie}")
}

/// Which rows a page's walk reads: all from the start (a page by number,
/// `$12` its offset), or, after the row of a
/// [`UsageCursor`](crate::domain::usage::UsageCursor) (`$13` its key, `$14`
/// its `report_id`), those tied with it that come after it or those past
/// its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Start {
    Numbered,
    AfterTies,
    AfterKey,
}

impl Start {
    /// The condition on `key` and `tie` (the walk's `report_id`) that keeps
    /// these rows, in the page's order: `null`s last, ties ascending.
    fn condition(self, key: &str, tie: &str, nullable: bool, descending: bool) -> String {
        let past = if descending { "<" } else { ">" };
        match (self, nullable) {
            (Start::Numbered, _) => String::new(),
            (Start::AfterTies, false) => format!("\n      AND {key} = $13 AND {tie} > $14"),
            (Start::AfterTies, true) => format!(
                "\n      AND ({key} = $13 OR ($13 IS NULL AND {key} IS NULL)) AND {tie} > $14"
            ),
            (Start::AfterKey, false) => format!("\n      AND {key} {past} $13"),
            (Start::AfterKey, true) => {
                format!("\n      AND $13 IS NOT NULL AND ({key} {past} $13 OR {key} IS NULL)")
            }
        }
    }
}

/// A page's statement: by number, or after a cursor. After a cursor the
/// walk is two seeks, one for the rest of the cursor's ties and one past
/// its key, each a range of the walk's index where it has one: one
/// condition with an `OR` would make each backend read the index from its
/// start, and a long run of ties (every report with no view this month)
/// made each page of it read all of the run before it.
fn page_sql(sort: UsageSort, dialect: Dialect, counts: Counts, keyset: bool) -> String {
    if !keyset {
        let ranking = ranking_sql(sort, dialect, counts, Start::Numbered);
        return rows_sql(sort, dialect, counts, &ranking);
    }
    let (_, nullable) = field_sql(sort.field, dialect, counts);
    let order = if sort.field == UsageField::ReportId {
        format!("report_id{}", if sort.descending { " DESC" } else { "" })
    } else {
        order_by("sort_key", nullable, sort.descending, "report_id")
    };
    let ranking = format!(
        "SELECT report_id, sort_key FROM (
    SELECT * FROM ({}) ties
    UNION ALL
    SELECT * FROM ({}) past) after_cursor
    ORDER BY {order} LIMIT $11",
        ranking_sql(sort, dialect, counts, Start::AfterTies),
        ranking_sql(sort, dialect, counts, Start::AfterKey),
    );
    rows_sql(sort, dialect, counts, &ranking)
}

/// The page's rows, in its order, for the report ids and keys `ranking`
/// selects.
fn rows_sql(sort: UsageSort, dialect: Dialect, counts: Counts, ranking: &str) -> String {
    let (_, nullable) = field_sql(sort.field, dialect, counts);
    let outer_order = if sort.field == UsageField::ReportId {
        format!(
            "ranked.report_id{}",
            if sort.descending { " DESC" } else { "" }
        )
    } else {
        order_by(
            "ranked.sort_key",
            nullable,
            sort.descending,
            "ranked.report_id",
        )
    };
    let columns: Vec<String> = ROW_FIELDS
        .iter()
        .map(|field| field_sql(*field, dialect, counts).0)
        .collect();
    format!(
        "WITH ranked AS (
    {ranking})
SELECT r.report_token, r.name, r.space_token, r.creator_email, {}
FROM ranked CROSS JOIN reports r CROSS JOIN report_windows w
WHERE r.workspace_id = $1 AND r.report_id = ranked.report_id
  AND w.workspace_id = $1 AND w.report_id = ranked.report_id
ORDER BY {outer_order}",
        columns.join(",\n    ")
    )
}

/// The report ids and sort keys of a page, in its order, from `start`.
fn ranking_sql(sort: UsageSort, dialect: Dialect, counts: Counts, start: Start) -> String {
    let (key, nullable) = field_sql(sort.field, dialect, counts);
    let walk = Walk::of(sort.field, counts);
    // Down an index, the order is the index's own: its key, then its id.
    let (inner_key, tie) = match walk {
        Walk::Windows => (key.as_str(), "w.report_id"),
        Walk::Views => (key.as_str(), "r.report_id"),
        // Sorting by the alias lets each backend compute a subquery key once.
        Walk::Reports if nullable => (key.as_str(), "r.report_id"),
        Walk::Reports => ("sort_key", "r.report_id"),
    };
    let ids = match start {
        Start::AfterKey if sort.field == UsageField::ReportId && sort.descending => IdBounds {
            to: Some("$13"),
            ..IdBounds::default()
        },
        Start::AfterKey if sort.field == UsageField::ReportId => IdBounds {
            from: Some("$13"),
            ..IdBounds::default()
        },
        // Ties go by ascending report id.
        Start::AfterTies if tie == "r.report_id" => IdBounds {
            from: Some("$14"),
            ..IdBounds::default()
        },
        _ => IdBounds::default(),
    };
    let filtered = filter_sql(dialect, &walk.listed(key.starts_with("w.")), ids);
    let inner_order = if sort.field == UsageField::ReportId {
        format!("r.report_id{}", if sort.descending { " DESC" } else { "" })
    } else {
        order_by(inner_key, nullable, sort.descending, tie)
    };
    match (walk, dialect) {
        (Walk::Windows | Walk::Views, Dialect::Postgres) => {
            let (key, alias) = match walk {
                Walk::Windows => (key.as_str(), "w"),
                _ => ("o.view_count", "o"),
            };
            let range = start.condition(key, &format!("{alias}.report_id"), false, sort.descending);
            postgres_walk(walk, key, sort.descending, &range)
        }
        _ => {
            // The key itself, not its alias, which a condition cannot name.
            let range = start.condition(&key, tie, nullable, sort.descending);
            format!(
                "SELECT r.report_id AS report_id, {key} AS sort_key {filtered}{range}
    ORDER BY {inner_order} LIMIT $11 OFFSET $12"
            )
        }
    }
}

/// A walk down an index on PostgreSQL, by `key` (over `w` for the windows,
/// `o` for the reports) in `order`. Its planner misjudges how many reports
/// the listing keeps, joins every one to its space and windows and sorts
/// them all (400 ms at 100,000 reports); here the walk reads the index in
/// order, each report passes the listing and the filters in a `LATERAL`
/// lookup fenced by `OFFSET 0` (as [`crate::storage::listings::QUERIES_PAGE`]'s
/// does), and the walk stops at the page's end. Down the views, stale
/// reports are told from the index alone, before their lookup. `range`
/// is the [`Start`]'s condition on the walked index.
fn postgres_walk(walk: Walk, key: &str, descending: bool, range: &str) -> String {
    let (alias, from, walked) = match walk {
        Walk::Windows => ("w", "report_windows w", String::new()),
        _ => (
            "o",
            "reports o",
            format!(
                " AND o.definition_at IS NOT NULL AND NOT o.deleted
      AND ($3 IS NULL OR o.last_viewed_at IS NULL OR {} < $3)",
                day_of("o.last_viewed_at")
            ),
        ),
    };
    let order = order_by(key, false, descending, &format!("{alias}.report_id"));
    let condition = "WHERE r.workspace_id = $1";
    let listed = LISTED_REPORTS.replacen(
        condition,
        &format!("{condition} AND r.report_id = {alias}.report_id"),
        1,
    );
    let checked = filter_sql(Dialect::Postgres, &listed, IdBounds::default());
    format!(
        "SELECT {alias}.report_id AS report_id, {key} AS sort_key FROM {from}
    CROSS JOIN LATERAL (SELECT r.report_id {checked} OFFSET 0) r
    WHERE {alias}.workspace_id = $1{walked}{range}
    ORDER BY {order} LIMIT $11 OFFSET $12"
    )
}

/// One page statement per sort, both directions, source of counts, and
/// whether it starts after a cursor.
pub(super) type PageKey = (UsageSort, Counts, bool);

pub(super) static PAGES: LazyLock<Vec<(PageKey, Statement)>> = LazyLock::new(|| {
    UsageField::ALL
        .into_iter()
        .flat_map(|field| [false, true].map(|descending| UsageSort { field, descending }))
        .flat_map(|sort| [Counts::Computed, Counts::Kept].map(|counts| (sort, counts)))
        .flat_map(|(sort, counts)| {
            [false, true].map(|keyset| {
                let statement = Statement::per_dialect(
                    page_sql(sort, Dialect::Postgres, counts, keyset),
                    &page_sql(sort, Dialect::Sqlite, counts, keyset),
                );
                ((sort, counts, keyset), statement)
            })
        })
        .collect()
});
