//! How a state table is declared: its columns, each with its SQL type,
//! merge rule and value ([`Table`]), and what a declaration derives (its
//! upsert, its rows).

use crate::domain::Timestamp;
use crate::domain::state::{Register, Stamp};
use crate::storage::rows::{SqlValue, TableRows};
use crate::storage::sql::{ColumnType, Merge, Upsert};

use ColumnType::{BigInt, Text};

/// How a column's stored value merges with an incoming row's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Part of the primary key, after `workspace_id`.
    Key,
    /// A function of the key: written with the row, never changed.
    OfKey,
    /// The time of the write a register holds (`{register}_at`).
    RegisterAt,
    /// The event of the write a register holds (`{register}_event`), which
    /// breaks ties in time.
    RegisterEvent,
    /// A value of a register: replaced with the register's write.
    RegisterValue,
    /// Once true, true for good (deletions are final).
    Final,
    /// Adds up.
    Counter,
    /// Keeps the later instant.
    Latest,
    /// Keeps the earlier instant.
    Earliest,
}

/// Reads one column's value from the source of a row (`R`, e.g. a report's
/// id and changes).
type Value<'a, R> = Box<dyn Fn(R) -> SqlValue<'a> + Send + Sync + 'a>;

/// One declared column.
pub struct Column<'a, R> {
    pub name: String,
    pub sql_type: ColumnType,
    pub rule: Rule,
    value: Value<'a, R>,
}

impl<'a, R> Column<'a, R> {
    /// A column whose value `value` reads from the row's source.
    pub fn new(
        name: &str,
        sql_type: ColumnType,
        rule: Rule,
        value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
    ) -> Self {
        Column {
            name: name.to_owned(),
            sql_type,
            rule,
            value: Box::new(value),
        }
    }
}

/// A value column of a register (see [`Table::register`]).
pub(super) fn value<'a, R>(
    name: &str,
    sql_type: ColumnType,
    value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
) -> Column<'a, R> {
    Column::new(name, sql_type, Rule::RegisterValue, value)
}

/// A table's declaration. `R` is what one row is made from.
pub struct Table<'a, R> {
    pub name: &'static str,
    pub columns: Vec<Column<'a, R>>,
    merges: Vec<Merge>,
    merged_whole: bool,
    row_by_row: bool,
}

impl<'a, R: Copy + 'a> Table<'a, R> {
    pub(super) fn new(name: &'static str) -> Self {
        Table {
            name,
            columns: Vec::new(),
            merges: Vec::new(),
            merged_whole: false,
            row_by_row: false,
        }
    }

    /// SQLite merges the table a row to a statement rather than many: for
    /// a table with no trigger whose secondary indexes take its rows in an
    /// order of their own. A statement of many rows, which may fail midway,
    /// copies every page it changes into SQLite's statement journal (16
    /// KiB a page here) to undo them; its rows land on as many pages of
    /// each such index, so it copies a page or more per row, where a
    /// statement of one row into a table without triggers keeps no journal
    /// at all (BENCHMARKS.md, "Runs of rows of every shape").
    pub(super) fn row_by_row(mut self) -> Self {
        self.row_by_row = true;
        self
    }

    /// Every row makes every merge, even those its values leave as they
    /// are. By default SQLite sets only the columns a row brings something
    /// for, which spares the indexes and triggers on the others but makes
    /// a statement per run of rows of one shape. For a table whose merged
    /// columns no index and no `UPDATE OF` trigger reads, a merge of a
    /// neutral value costs nothing, and rows of every shape share a
    /// statement: a report's dates, some with views and some with runs,
    /// went in statements of 2.6 rows on average before (BENCHMARKS.md,
    /// "Runs of rows of every shape").
    pub(super) fn merged_whole(mut self) -> Self {
        self.merged_whole = true;
        self
    }

    pub(super) fn column(
        mut self,
        name: &str,
        sql_type: ColumnType,
        rule: Rule,
        value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
    ) -> Self {
        let merge = match rule {
            Rule::Key | Rule::OfKey => None,
            Rule::Final => Some(Merge::flag(self.name, name)),
            Rule::Counter => Some(Merge::sum(self.name, name)),
            Rule::Latest => Some(Merge::later(self.name, name)),
            Rule::Earliest => Some(Merge::earlier(self.name, name)),
            Rule::RegisterAt | Rule::RegisterEvent | Rule::RegisterValue => {
                unreachable!(
                    "{}.{name}: registers are declared with `register`",
                    self.name
                )
            }
        };
        self.merges.extend(merge);
        self.columns.push(Column::new(name, sql_type, rule, value));
        self
    }

    pub(super) fn key(
        self,
        name: &str,
        sql_type: ColumnType,
        value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
    ) -> Self {
        self.column(name, sql_type, Rule::Key, value)
    }

    /// A last-writer-wins register: the columns `{name}_at` and
    /// `{name}_event` (the write's [`Stamp`], from `stamp`), then `values`,
    /// all replaced together by a write with a larger stamp.
    pub(super) fn register<const N: usize>(
        mut self,
        name: &str,
        stamp: fn(R) -> Option<&'a Stamp>,
        values: [Column<'a, R>; N],
    ) -> Self {
        let at = format!("{name}_at");
        let event = format!("{name}_event");
        let value_names: Vec<&str> = values.iter().map(|value| value.name.as_str()).collect();
        self.merges
            .push(Merge::register(self.name, &at, &event, &value_names));
        self.columns
            .push(Column::new(&at, BigInt, Rule::RegisterAt, move |row| {
                SqlValue::Int(stamp(row).map(|stamp| stamp.at.as_micros()))
            }));
        self.columns
            .push(Column::new(&event, Text, Rule::RegisterEvent, move |row| {
                SqlValue::Text(stamp(row).map(|stamp| stamp.event.as_str()))
            }));
        self.columns.extend(values);
        self
    }

    /// The upsert that merges this table's rows.
    pub fn upsert(&self) -> Upsert {
        Upsert {
            table: self.name,
            columns: self
                .columns
                .iter()
                .map(|column| (column.name.clone(), column.sql_type))
                .collect(),
            key: self
                .columns
                .iter()
                .filter(|column| column.rule == Rule::Key)
                .map(|column| column.name.clone())
                .collect(),
            merges: self.merges.clone(),
            merged_whole: self.merged_whole,
            row_by_row: self.row_by_row,
        }
    }

    /// The row `source` makes: one value per column, in order.
    pub fn row(&self, source: R) -> Vec<SqlValue<'a>> {
        self.columns
            .iter()
            .map(|column| (column.value)(source))
            .collect()
    }

    /// The rows of `sources`, made one at a time as the merge goes: made
    /// all at once, they raised the peak memory of imports (BENCHMARKS.md).
    pub(super) fn rows(self, sources: impl Iterator<Item = R> + Send + 'a) -> TableRows<'a> {
        let upsert = self.upsert();
        TableRows {
            upsert,
            rows: Box::new(sources.map(move |source| self.row(source))),
        }
    }
}

pub(super) fn int(value: i64) -> SqlValue<'static> {
    SqlValue::Int(Some(value))
}

pub(super) fn at(value: Option<Timestamp>) -> SqlValue<'static> {
    SqlValue::Int(value.map(Timestamp::as_micros))
}

pub(super) fn text(value: Option<&str>) -> SqlValue<'_> {
    SqlValue::Text(value)
}

pub(super) fn flag(value: bool) -> SqlValue<'static> {
    SqlValue::Bool(Some(value))
}

/// The stamp of a register's write, if it has one.
pub(super) fn stamp<T>(register: Option<&Register<T>>) -> Option<&Stamp> {
    register.map(|register| &register.stamp)
}

/// The value of a register's write, if it has one.
pub(super) fn held<T>(register: Option<&Register<T>>) -> Option<&T> {
    register.map(|register| &register.value)
}
