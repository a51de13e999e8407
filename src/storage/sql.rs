//! SQL shared by the backends: the merge rules of
//! [`crate::domain::state`] as `ON CONFLICT DO UPDATE` assignments.
//!
//! Both SQLite and PostgreSQL evaluate every right-hand side of an `UPDATE`
//! against the row as it was, and both compare row values
//! lexicographically, so one text serves both. Each assignment is a pure
//! function of the stored row and the incoming row, commutative and
//! associative, which is what makes the result independent of the order in
//! which batches arrive, and safe for concurrent writers in PostgreSQL, where
//! the upsert locks the row it merges into.

/// Assignments that merge the register `prefix` (columns `{prefix}_at`,
/// `{prefix}_event` and `values`) of `table`: the incoming write replaces the
/// stored one when it has one and its `(at, event)` is larger.
pub fn merge_register(table: &str, prefix: &str, values: &[&str]) -> String {
    let wins = format!(
        "excluded.{prefix}_at IS NOT NULL AND ({table}.{prefix}_at IS NULL \
         OR (excluded.{prefix}_at, excluded.{prefix}_event) > ({table}.{prefix}_at, {table}.{prefix}_event))"
    );
    let at = format!("{prefix}_at");
    let event = format!("{prefix}_event");
    [at.as_str(), event.as_str()]
        .into_iter()
        .chain(values.iter().copied())
        .map(|column| {
            format!("{column} = CASE WHEN {wins} THEN excluded.{column} ELSE {table}.{column} END")
        })
        .collect::<Vec<_>>()
        .join(",\n    ")
}

/// Keeps the later of two instants (either may be NULL).
pub fn merge_later(table: &str, column: &str) -> String {
    format!(
        "{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} > {table}.{column} \
         THEN excluded.{column} ELSE {table}.{column} END"
    )
}

/// Keeps the earlier of two instants (either may be NULL).
pub fn merge_earlier(table: &str, column: &str) -> String {
    format!(
        "{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} < {table}.{column} \
         THEN excluded.{column} ELSE {table}.{column} END"
    )
}

/// A flag that, once set, stays set (deletions are final).
pub fn merge_flag(table: &str, column: &str) -> String {
    format!("{column} = ({table}.{column} OR excluded.{column})")
}

/// A counter that adds up.
pub fn merge_sum(table: &str, column: &str) -> String {
    format!("{column} = {table}.{column} + excluded.{column}")
}

/// The upsert that merges one report's changes.
pub fn upsert_report() -> String {
    const TABLE: &str = "reports";
    let assignments = [
        merge_register(TABLE, "definition", &["report_token", "creator_email"]),
        merge_register(TABLE, "name", &["name"]),
        merge_register(TABLE, "description", &["description"]),
        merge_register(TABLE, "space", &["space_token"]),
        merge_register(TABLE, "last_run", &["last_run_token", "last_run_state"]),
        merge_flag(TABLE, "deleted"),
        merge_sum(TABLE, "view_count"),
        merge_later(TABLE, "last_viewed_at"),
        merge_earlier(TABLE, "created_at"),
        merge_later(TABLE, "edited_at"),
        merge_later(TABLE, "last_successful_run_at"),
    ];
    format!(
        "INSERT INTO reports (workspace_id, report_id,
    definition_at, definition_event, report_token, creator_email,
    name_at, name_event, name,
    description_at, description_event, description,
    space_at, space_event, space_token,
    last_run_at, last_run_event, last_run_token, last_run_state,
    deleted, view_count, last_viewed_at, created_at, edited_at, last_successful_run_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
ON CONFLICT (workspace_id, report_id) DO UPDATE SET
    {}",
        assignments.join(",\n    ")
    )
}

pub fn upsert_schedule() -> String {
    const TABLE: &str = "schedules";
    format!(
        "INSERT INTO schedules (workspace_id, schedule_token,
    definition_at, definition_event, report_id, creator_email,
    paused_at, paused_event, paused, deleted)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (workspace_id, schedule_token) DO UPDATE SET
    {},
    {},
    {}",
        merge_register(TABLE, "definition", &["report_id", "creator_email"]),
        merge_register(TABLE, "paused", &["paused"]),
        merge_flag(TABLE, "deleted"),
    )
}

pub fn upsert_exploration() -> String {
    const TABLE: &str = "explorations";
    format!(
        "INSERT INTO explorations (workspace_id, exploration_token,
    definition_at, definition_event, report_id, creator_email, deleted)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (workspace_id, exploration_token) DO UPDATE SET
    {},
    {}",
        merge_register(TABLE, "definition", &["report_id", "creator_email"]),
        merge_flag(TABLE, "deleted"),
    )
}

pub fn upsert_space() -> String {
    const TABLE: &str = "spaces";
    format!(
        "INSERT INTO spaces (workspace_id, space_token,
    definition_at, definition_event, name, description, space_type, deleted)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (workspace_id, space_token) DO UPDATE SET
    {},
    {}",
        merge_register(TABLE, "definition", &["name", "description", "space_type"]),
        merge_flag(TABLE, "deleted"),
    )
}

pub fn upsert_member() -> String {
    const TABLE: &str = "members";
    format!(
        "INSERT INTO members (workspace_id, email,
    profile_at, profile_event, username, name,
    present_at, present_event, present)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (workspace_id, email) DO UPDATE SET
    {},
    {}",
        merge_register(TABLE, "profile", &["username", "name"]),
        merge_register(TABLE, "present", &["present"]),
    )
}

pub const INSERT_EDITOR: &str =
    "INSERT INTO report_editors (workspace_id, report_id, email) VALUES ($1, $2, $3)
ON CONFLICT (workspace_id, report_id, email) DO NOTHING";

pub fn upsert_manual_run() -> String {
    format!(
        "INSERT INTO report_manual_runs (workspace_id, report_id, email, last_run_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (workspace_id, report_id, email) DO UPDATE SET {}",
        merge_later("report_manual_runs", "last_run_at")
    )
}

pub const INSERT_SCHEDULED_RUN: &str = "INSERT INTO report_scheduled_runs (workspace_id, report_id, schedule_token) VALUES ($1, $2, $3)
ON CONFLICT (workspace_id, report_id, schedule_token) DO NOTHING";

/// SQLite numbers parameters `?1`, PostgreSQL `$1`; the shared text uses `$`.
pub fn for_sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}
