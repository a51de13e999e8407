//! SQL shared by the backends: the merge rules of [`crate::domain::state`]
//! as `INSERT ... ON CONFLICT DO UPDATE` statements.
//!
//! Both SQLite and PostgreSQL evaluate every right-hand side of an `UPDATE`
//! against the row as it was, and both compare row values
//! lexicographically, so one text of each merge serves both. Each assignment
//! is a pure function of the stored row and the incoming row, commutative
//! and associative: that is what makes the result independent of the order
//! in which batches arrive, and safe for concurrent writers in PostgreSQL,
//! where the upsert locks the row it merges into. The backends differ only
//! in how rows get in: SQLite binds one row at a time
//! ([`Upsert::single_row_sql`]), PostgreSQL a whole table's rows as arrays
//! ([`Upsert::unnest_sql`]).
//!
//! Each [`Merge`] also knows the incoming value that leaves a stored row as
//! it is (no register write, no later instant, nothing to add). SQLite
//! leaves those merges out of the `SET` list of a row that brings nothing
//! for them: an index is rewritten only when the `SET` list names one of its
//! columns, so a view no longer rewrites the listing indexes of its report.

/// The SQL type of a bound column, for PostgreSQL's array casts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    BigInt,
    Text,
    Bool,
}

impl ColumnType {
    fn postgres_array(self) -> &'static str {
        match self {
            ColumnType::BigInt => "bigint[]",
            ColumnType::Text => "text[]",
            ColumnType::Bool => "boolean[]",
        }
    }
}

/// The incoming values of a merge's input column that make the merge leave
/// the stored row as it is. NULL always does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Neutral {
    /// Only NULL (registers, instants).
    Null,
    /// NULL or false (flags).
    False,
    /// NULL or 0 (counters).
    Zero,
}

/// One merge rule: the assignments it makes, and the bound column whose
/// incoming value says whether it can change anything.
#[derive(Clone, Debug)]
pub struct Merge {
    pub input: String,
    pub neutral: Neutral,
    pub assignments: Vec<String>,
}

/// An upsert into one state table. `workspace_id` is the first column of
/// every table and is bound once; `columns` follow it in binding order.
#[derive(Clone, Debug)]
pub struct Upsert {
    pub table: &'static str,
    pub columns: Vec<(&'static str, ColumnType)>,
    /// The primary key after `workspace_id`.
    pub key: &'static [&'static str],
    /// What `DO UPDATE SET` does; none means `DO NOTHING` (a set).
    pub merges: Vec<Merge>,
}

/// Which merges of an [`Upsert`] a statement makes: bit `i` stands for
/// `merges[i]`.
pub type MergeMask = u64;

impl Upsert {
    /// Every merge: what a statement for rows of any shape does.
    pub fn all_merges(&self) -> MergeMask {
        assert!(self.merges.len() <= 64, "a mask holds 64 merges");
        (0..self.merges.len()).fold(0, |mask, index| mask | 1 << index)
    }

    /// For each merge, the position of its input in `columns`.
    pub fn merge_inputs(&self) -> Vec<usize> {
        self.merges
            .iter()
            .map(|merge| {
                self.columns
                    .iter()
                    .position(|(name, _)| *name == merge.input)
                    .unwrap_or_else(|| panic!("{}: no column {}", self.table, merge.input))
            })
            .collect()
    }

    fn column_list(&self) -> String {
        std::iter::once("workspace_id")
            .chain(self.columns.iter().map(|(name, _)| *name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn conflict_clause(&self, merges: MergeMask) -> String {
        let key = std::iter::once("workspace_id")
            .chain(self.key.iter().copied())
            .collect::<Vec<_>>()
            .join(", ");
        let assignments: Vec<&str> = self
            .merges
            .iter()
            .enumerate()
            .filter(|(index, _)| merges & (1 << index) != 0)
            .flat_map(|(_, merge)| merge.assignments.iter().map(String::as_str))
            .collect();
        if assignments.is_empty() {
            format!("ON CONFLICT ({key}) DO NOTHING")
        } else {
            format!(
                "ON CONFLICT ({key}) DO UPDATE SET\n    {}",
                assignments.join(",\n    ")
            )
        }
    }

    /// One row: `VALUES (?1, ?2, ...)`, SQLite's numbered parameters,
    /// making only the merges in `merges`.
    pub fn single_row_sql(&self, merges: MergeMask) -> String {
        let parameters = (1..=self.columns.len() + 1)
            .map(|n| format!("?{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({}) VALUES ({parameters})\n{}",
            self.table,
            self.column_list(),
            self.conflict_clause(merges)
        )
    }

    /// Many rows: `$1` is the workspace, `$2...` one array per column.
    pub fn unnest_sql(&self) -> String {
        let arrays = self
            .columns
            .iter()
            .enumerate()
            .map(|(index, (_, column_type))| {
                format!("${}::{}", index + 2, column_type.postgres_array())
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({})\nSELECT $1, rows.* FROM UNNEST({arrays}) AS rows\n{}",
            self.table,
            self.column_list(),
            self.conflict_clause(self.all_merges())
        )
    }
}

/// Merges the register `prefix` (columns `{prefix}_at`, `{prefix}_event`
/// and `values`) of `table`: the incoming write replaces the stored one when
/// it has one and its `(at, event)` is larger.
pub fn merge_register(table: &str, prefix: &str, values: &[&str]) -> Merge {
    let wins = format!(
        "excluded.{prefix}_at IS NOT NULL AND ({table}.{prefix}_at IS NULL \
         OR (excluded.{prefix}_at, excluded.{prefix}_event) > ({table}.{prefix}_at, {table}.{prefix}_event))"
    );
    let at = format!("{prefix}_at");
    let event = format!("{prefix}_event");
    let assignments = [at.as_str(), event.as_str()]
        .into_iter()
        .chain(values.iter().copied())
        .map(|column| {
            format!("{column} = CASE WHEN {wins} THEN excluded.{column} ELSE {table}.{column} END")
        })
        .collect();
    Merge {
        input: at,
        neutral: Neutral::Null,
        assignments,
    }
}

fn merge_one(column: &str, neutral: Neutral, assignment: String) -> Merge {
    Merge {
        input: column.to_owned(),
        neutral,
        assignments: vec![assignment],
    }
}

/// Keeps the later of two instants (either may be NULL).
pub fn merge_later(table: &str, column: &str) -> Merge {
    let assignment = format!(
        "{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} > {table}.{column} \
         THEN excluded.{column} ELSE {table}.{column} END"
    );
    merge_one(column, Neutral::Null, assignment)
}

/// Keeps the earlier of two instants (either may be NULL).
pub fn merge_earlier(table: &str, column: &str) -> Merge {
    let assignment = format!(
        "{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} < {table}.{column} \
         THEN excluded.{column} ELSE {table}.{column} END"
    );
    merge_one(column, Neutral::Null, assignment)
}

/// A flag that, once set, stays set (deletions are final).
pub fn merge_flag(table: &str, column: &str) -> Merge {
    let assignment = format!("{column} = ({table}.{column} OR excluded.{column})");
    merge_one(column, Neutral::False, assignment)
}

/// A counter that adds up.
pub fn merge_sum(table: &str, column: &str) -> Merge {
    let assignment = format!("{column} = {table}.{column} + excluded.{column}");
    merge_one(column, Neutral::Zero, assignment)
}

use ColumnType::{BigInt, Bool, Text};

/// The columns of a register: its stamp, then its values.
fn register(
    prefix: &'static str,
    values: &[(&'static str, ColumnType)],
) -> Vec<(&'static str, ColumnType)> {
    let stamp: [(&'static str, ColumnType); 2] = match prefix {
        "definition" => [("definition_at", BigInt), ("definition_event", Text)],
        "name" => [("name_at", BigInt), ("name_event", Text)],
        "description" => [("description_at", BigInt), ("description_event", Text)],
        "space" => [("space_at", BigInt), ("space_event", Text)],
        "last_run" => [("last_run_at", BigInt), ("last_run_event", Text)],
        "paused" => [("paused_at", BigInt), ("paused_event", Text)],
        "profile" => [("profile_at", BigInt), ("profile_event", Text)],
        "present" => [("present_at", BigInt), ("present_event", Text)],
        other => unreachable!("no register `{other}`"),
    };
    stamp.into_iter().chain(values.iter().copied()).collect()
}

pub fn reports() -> Upsert {
    const TABLE: &str = "reports";
    let columns = [
        vec![("report_id", BigInt)],
        register(
            "definition",
            &[("report_token", Text), ("creator_email", Text)],
        ),
        register("name", &[("name", Text)]),
        register("description", &[("description", Text)]),
        register("space", &[("space_token", Text)]),
        register(
            "last_run",
            &[("last_run_token", Text), ("last_run_state", Text)],
        ),
        vec![
            ("deleted", Bool),
            ("view_count", BigInt),
            ("last_viewed_at", BigInt),
            ("created_at", BigInt),
            ("edited_at", BigInt),
            ("last_successful_run_at", BigInt),
        ],
    ]
    .concat();
    let merges = vec![
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
    Upsert {
        table: TABLE,
        columns,
        key: &["report_id"],
        merges,
    }
}

pub fn report_editors() -> Upsert {
    Upsert {
        table: "report_editors",
        columns: vec![("report_id", BigInt), ("email", Text)],
        key: &["report_id", "email"],
        merges: Vec::new(),
    }
}

pub fn report_manual_runs() -> Upsert {
    Upsert {
        table: "report_manual_runs",
        columns: vec![
            ("report_id", BigInt),
            ("email", Text),
            ("last_run_at", BigInt),
        ],
        key: &["report_id", "email"],
        merges: vec![merge_later("report_manual_runs", "last_run_at")],
    }
}

pub fn report_scheduled_runs() -> Upsert {
    Upsert {
        table: "report_scheduled_runs",
        columns: vec![("report_id", BigInt), ("schedule_token", Text)],
        key: &["report_id", "schedule_token"],
        merges: Vec::new(),
    }
}

pub fn schedules() -> Upsert {
    const TABLE: &str = "schedules";
    Upsert {
        table: TABLE,
        columns: [
            vec![("schedule_token", Text)],
            register(
                "definition",
                &[("report_id", BigInt), ("creator_email", Text)],
            ),
            register("paused", &[("paused", Bool)]),
            vec![("deleted", Bool)],
        ]
        .concat(),
        key: &["schedule_token"],
        merges: vec![
            merge_register(TABLE, "definition", &["report_id", "creator_email"]),
            merge_register(TABLE, "paused", &["paused"]),
            merge_flag(TABLE, "deleted"),
        ],
    }
}

pub fn explorations() -> Upsert {
    const TABLE: &str = "explorations";
    Upsert {
        table: TABLE,
        columns: [
            vec![("exploration_token", Text)],
            register(
                "definition",
                &[("report_id", BigInt), ("creator_email", Text)],
            ),
            vec![("deleted", Bool)],
        ]
        .concat(),
        key: &["exploration_token"],
        merges: vec![
            merge_register(TABLE, "definition", &["report_id", "creator_email"]),
            merge_flag(TABLE, "deleted"),
        ],
    }
}

pub fn spaces() -> Upsert {
    const TABLE: &str = "spaces";
    Upsert {
        table: TABLE,
        columns: [
            // The id is a function of the token, so it needs no merge rule.
            vec![("space_token", Text), ("space_id", BigInt)],
            register(
                "definition",
                &[("name", Text), ("description", Text), ("space_type", Text)],
            ),
            vec![("deleted", Bool)],
        ]
        .concat(),
        key: &["space_token"],
        merges: vec![
            merge_register(TABLE, "definition", &["name", "description", "space_type"]),
            merge_flag(TABLE, "deleted"),
        ],
    }
}

pub fn members() -> Upsert {
    const TABLE: &str = "members";
    Upsert {
        table: TABLE,
        columns: [
            vec![("email", Text)],
            register("profile", &[("username", Text), ("name", Text)]),
            register("present", &[("present", Bool)]),
        ]
        .concat(),
        key: &["email"],
        merges: vec![
            merge_register(TABLE, "profile", &["username", "name"]),
            merge_register(TABLE, "present", &["present"]),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_row_upsert_binds_every_column_once() {
        let upsert = reports();
        let sql = upsert.single_row_sql(upsert.all_merges());
        assert!(sql.contains(&format!("?{}", upsert.columns.len() + 1)));
        assert!(!sql.contains(&format!("?{}", upsert.columns.len() + 2)));
        assert_eq!(upsert.columns.len(), 24);
    }

    #[test]
    fn an_unnest_upsert_casts_each_array_to_its_column_type() {
        let sql = report_editors().unnest_sql();
        assert!(sql.contains("UNNEST($2::bigint[], $3::text[])"), "{sql}");
        assert!(
            sql.ends_with("ON CONFLICT (workspace_id, report_id, email) DO NOTHING"),
            "{sql}"
        );
    }

    #[test]
    fn every_assignment_names_a_bound_column() {
        for upsert in [
            reports(),
            schedules(),
            explorations(),
            spaces(),
            members(),
            report_manual_runs(),
        ] {
            upsert.merge_inputs();
            for merge in &upsert.merges {
                for assignment in &merge.assignments {
                    let column = assignment.split(" = ").next().unwrap();
                    assert!(
                        upsert.columns.iter().any(|(name, _)| *name == column),
                        "{}: {column}",
                        upsert.table
                    );
                }
            }
        }
    }

    #[test]
    fn a_statement_sets_only_the_merges_of_its_mask() {
        let upsert = reports();
        let views = upsert
            .merges
            .iter()
            .position(|merge| merge.input == "view_count")
            .unwrap();
        let sql = upsert.single_row_sql(1 << views);
        assert!(
            sql.ends_with(
                "DO UPDATE SET\n    view_count = reports.view_count + excluded.view_count"
            ),
            "{sql}"
        );
        assert!(upsert.single_row_sql(0).ends_with("DO NOTHING"));
    }
}
