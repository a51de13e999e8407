//! Rows of the state tables as backends bind them: values, the rows of one
//! upsert, and which merges a row needs. The rows themselves come from the
//! declarations in [`crate::storage::schema`]; each backend only binds the
//! values, row by row (SQLite) or column by column (PostgreSQL).

use super::sql::{MergeMask, Neutral, Upsert};

/// One bound value. `None` is SQL `NULL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlValue<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    Bool(Option<bool>),
}

/// An upsert and the rows to merge with it; each row holds one value per
/// column of `upsert.columns`, `workspace_id` aside, made as the merge goes.
pub struct TableRows<'a> {
    pub upsert: Upsert,
    pub rows: Box<dyn Iterator<Item = Vec<SqlValue<'a>>> + Send + 'a>,
}

impl SqlValue<'_> {
    /// Whether this incoming value leaves the stored row as it is under a
    /// merge that is neutral at `neutral`.
    pub fn is_neutral(self, neutral: Neutral) -> bool {
        matches!(
            (self, neutral),
            (
                SqlValue::Int(None) | SqlValue::Text(None) | SqlValue::Bool(None),
                _
            ) | (SqlValue::Bool(Some(false)), Neutral::False)
                | (SqlValue::Int(Some(0)), Neutral::Zero)
        )
    }
}

/// Picks, for each row of one upsert, the merges it needs.
pub struct MergePicker {
    inputs: Vec<(usize, Neutral)>,
    /// Every merge, for a table merged whole.
    all: Option<MergeMask>,
}

impl MergePicker {
    pub fn new(upsert: &Upsert) -> Self {
        let inputs = upsert
            .merge_inputs()
            .into_iter()
            .zip(upsert.merges.iter().map(|merge| merge.neutral))
            .collect();
        MergePicker {
            inputs,
            all: upsert.merged_whole.then(|| upsert.all_merges()),
        }
    }

    /// The merges `row` needs: those for which it brings more than the
    /// neutral value (the others would leave the stored row as it is), or
    /// all of them for a table merged whole.
    pub fn merges(&self, row: &[SqlValue<'_>]) -> MergeMask {
        if let Some(all) = self.all {
            return all;
        }
        self.inputs
            .iter()
            .enumerate()
            .filter(|(_, (input, neutral))| !row[*input].is_neutral(*neutral))
            .fold(0, |mask, (index, _)| mask | 1 << index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::Changes;
    use crate::domain::{Event, Position, Timestamp};
    use crate::storage::schema::table_rows;
    use crate::storage::sql::ColumnType;

    /// The merges a row of `table` needs, by input column.
    fn merges_of(changes: &Changes, table: &str) -> Vec<String> {
        let table = table_rows(changes)
            .into_iter()
            .find(|rows| rows.upsert.table == table)
            .unwrap();
        let picker = MergePicker::new(&table.upsert);
        let rows: Vec<_> = table.rows.collect();
        assert_eq!(rows.len(), 1);
        let mask = picker.merges(&rows[0]);
        table
            .upsert
            .merges
            .iter()
            .enumerate()
            .filter(|(index, _)| mask & (1 << index) != 0)
            .map(|(_, merge)| merge.input.clone())
            .collect()
    }

    #[test]
    fn a_row_needs_only_the_merges_it_brings_something_for() {
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let parse = |line: &str| Event::parse(line, Position::Line(1), now).unwrap();
        let viewed = parse(r#"{"id":"1","type":"report_viewed","report_id":1}"#);
        assert_eq!(
            merges_of(&Changes::from_events([&viewed]), "reports"),
            ["view_count", "last_viewed_at"]
        );
        let deleted = parse(r#"{"id":"2","type":"report_deleted","report_id":1}"#);
        assert_eq!(
            merges_of(&Changes::from_events([&deleted]), "reports"),
            ["deleted"]
        );
        // A resume writes `paused = false`: the register is set, so it merges.
        let resumed = parse(r#"{"id":"3","type":"schedule_resumed","schedule_token":"s"}"#);
        assert_eq!(
            merges_of(&Changes::from_events([&resumed]), "schedules"),
            ["paused_at"]
        );
    }

    #[test]
    fn every_row_has_one_value_per_column_of_the_right_type() {
        let lines = [
            r#"{"id":"1","type":"report_created","report_id":1,"report_token":"t","space_token":"s","email":"a@b.c","name":"n"}"#,
            r#"{"id":"2","type":"report_edited","report_id":1,"email":"d@b.c","description":"d"}"#,
            r#"{"id":"3","type":"report_run","report_id":1,"run_token":"r","trigger":"manual","email":"a@b.c"}"#,
            r#"{"id":"4","type":"report_run","report_id":1,"run_token":"r","trigger":"scheduled","schedule_token":"s"}"#,
            r#"{"id":"b","type":"report_viewed","report_id":1,"email":"v@b.c"}"#,
            r#"{"id":"5","type":"schedule_paused","schedule_token":"s"}"#,
            r#"{"id":"6","type":"exploration_created","exploration_token":"x","report_id":1,"email":"a@b.c"}"#,
            r#"{"id":"7","type":"space_upserted","space_token":"s","name":"S"}"#,
            r#"{"id":"8","type":"member_removed","email":"a@b.c"}"#,
            r#"{"id":"9","type":"query_created","query_token":"q","report_id":1,"name":"Q","raw_query":"select 1","data_source_token":"d","email":"a@b.c"}"#,
            r#"{"id":"a","type":"chart_created","chart_token":"c","query_token":"q","chart_type":"bar","email":"a@b.c"}"#,
        ];
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let events: Vec<Event> = lines
            .iter()
            .map(|line| Event::parse(line, Position::Line(1), now).unwrap())
            .collect();
        let changes = Changes::from_events(&events);
        for table in table_rows(&changes) {
            let rows: Vec<_> = table.rows.collect();
            assert!(!rows.is_empty(), "{}", table.upsert.table);
            for row in &rows {
                assert_eq!(
                    row.len(),
                    table.upsert.columns.len(),
                    "{}",
                    table.upsert.table
                );
                for (value, (column, column_type)) in row.iter().zip(&table.upsert.columns) {
                    let matches = matches!(
                        (value, column_type),
                        (SqlValue::Int(_), ColumnType::BigInt)
                            | (SqlValue::Text(_), ColumnType::Text)
                            | (SqlValue::Bool(_), ColumnType::Bool)
                    );
                    assert!(matches, "{}.{column}: {value:?}", table.upsert.table);
                }
            }
        }
    }
}
