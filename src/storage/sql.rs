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
    /// The type's name in PostgreSQL, as its migrations declare it and
    /// `information_schema` reports it.
    pub fn postgres_name(self) -> &'static str {
        match self {
            ColumnType::BigInt => "bigint",
            ColumnType::Text => "text",
            ColumnType::Bool => "boolean",
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

/// An upsert into one state table, derived from its declaration in
/// [`crate::storage::schema`]. `workspace_id` is the first column of every
/// table and is bound once; `columns` follow it in binding order.
#[derive(Clone, Debug)]
pub struct Upsert {
    pub table: &'static str,
    pub columns: Vec<(String, ColumnType)>,
    /// The primary key after `workspace_id`.
    pub key: Vec<String>,
    /// What `DO UPDATE SET` does; none means `DO NOTHING` (a set).
    pub merges: Vec<Merge>,
    /// Whether every row makes every merge, whatever it brings (see
    /// [`Table::merged_whole`](crate::storage::schema::Table::merged_whole)).
    pub merged_whole: bool,
    /// Whether SQLite merges it a row to a statement (see
    /// [`Table::row_by_row`](crate::storage::schema::Table::row_by_row)).
    pub row_by_row: bool,
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
            .chain(self.columns.iter().map(|(name, _)| name.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn conflict_clause(&self, merges: MergeMask) -> String {
        let key = std::iter::once("workspace_id")
            .chain(self.key.iter().map(String::as_str))
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
        self.single_row_numbered('?', merges)
    }

    /// `rows` rows, each `(?, ?, ...)` in `VALUES`, making only the merges
    /// in `merges`: SQLite's statement for a run of rows of one shape.
    pub fn multi_row_sql(&self, merges: MergeMask, rows: usize) -> String {
        let row = format!("({})", vec!["?"; self.columns.len() + 1].join(", "));
        format!(
            "INSERT INTO {} ({}) VALUES {}\n{}",
            self.table,
            self.column_list(),
            vec![row; rows].join(", "),
            self.conflict_clause(merges)
        )
    }

    /// One row, numbered `$1...`, making every merge: the statement a
    /// [`Session`](crate::storage::session::Session) runs on either backend.
    pub fn single_row_statement(&self) -> String {
        self.single_row_numbered('$', self.all_merges())
    }

    fn single_row_numbered(&self, sign: char, merges: MergeMask) -> String {
        let parameters = (1..=self.columns.len() + 1)
            .map(|n| format!("{sign}{n}"))
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
                format!("${}::{}[]", index + 2, column_type.postgres_name())
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

impl Merge {
    /// A last-writer-wins register: the incoming write (`at`, `event`,
    /// `values`) replaces the stored one when it has one and its
    /// `(at, event)` is larger.
    pub fn register(table: &str, at: &str, event: &str, values: &[&str]) -> Merge {
        let wins = format!(
            "excluded.{at} IS NOT NULL AND ({table}.{at} IS NULL \
             OR (excluded.{at}, excluded.{event}) > ({table}.{at}, {table}.{event}))"
        );
        let assignments = [at, event]
            .into_iter()
            .chain(values.iter().copied())
            .map(|column| {
                format!(
                    "{column} = CASE WHEN {wins} THEN excluded.{column} ELSE {table}.{column} END"
                )
            })
            .collect();
        Merge {
            input: at.to_owned(),
            neutral: Neutral::Null,
            assignments,
        }
    }

    fn one(column: &str, neutral: Neutral, assignment: String) -> Merge {
        Merge {
            input: column.to_owned(),
            neutral,
            assignments: vec![assignment],
        }
    }

    /// Keeps the later of two instants (either may be NULL).
    pub fn later(table: &str, column: &str) -> Merge {
        let assignment = format!(
            "{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} > {table}.{column} \
             THEN excluded.{column} ELSE {table}.{column} END"
        );
        Merge::one(column, Neutral::Null, assignment)
    }

    /// Keeps the earlier of two instants (either may be NULL).
    pub fn earlier(table: &str, column: &str) -> Merge {
        let assignment = format!(
            "{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} < {table}.{column} \
             THEN excluded.{column} ELSE {table}.{column} END"
        );
        Merge::one(column, Neutral::Null, assignment)
    }

    /// A flag that, once set, stays set (deletions are final).
    pub fn flag(table: &str, column: &str) -> Merge {
        let assignment = format!("{column} = ({table}.{column} OR excluded.{column})");
        Merge::one(column, Neutral::False, assignment)
    }

    /// A counter that adds up.
    pub fn sum(table: &str, column: &str) -> Merge {
        let assignment = format!("{column} = {table}.{column} + excluded.{column}");
        Merge::one(column, Neutral::Zero, assignment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::Changes;
    use crate::storage::schema::{self, table_rows};

    fn reports() -> Upsert {
        schema::reports().upsert()
    }

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
        let sql = schema::report_editors().upsert().unnest_sql();
        assert!(sql.contains("UNNEST($2::bigint[], $3::text[])"), "{sql}");
        assert!(
            sql.ends_with("ON CONFLICT (workspace_id, report_id, email) DO NOTHING"),
            "{sql}"
        );
    }

    #[test]
    fn every_assignment_names_a_bound_column() {
        for upsert in table_rows(&Changes::default())
            .into_iter()
            .map(|table| table.upsert)
        {
            upsert.merge_inputs();
            for merge in &upsert.merges {
                for assignment in &merge.assignments {
                    let column = assignment.split(" = ").next().unwrap();
                    assert!(
                        upsert.columns.iter().any(|(name, _)| name == column),
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
