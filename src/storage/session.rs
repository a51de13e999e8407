//! The interface the backends execute SQL through: what the shared code
//! (pages, listings, workspaces and credentials) is written against, once
//! for both databases.
//!
//! A [`Session`] runs a [`Statement`] with [`Param`]eters and hands each row
//! to a callback through [`Row`], one typed accessor for both backends' rows.
//! A [`Work`] is an async closure over a session; a backend runs it with
//! [`Access`] to one kind of connection (see [`super::backend`]): a reader
//! statement by statement, a reader in one snapshot, or the writer in one
//! transaction.
//!
//! The shared code is async because PostgreSQL's sessions wait on the
//! network. SQLite's never wait: rusqlite is synchronous, a session runs
//! each statement to its end before its future returns, so a work's future
//! over a SQLite session is ready the first time it is polled. The SQLite
//! backend therefore polls it once, on the blocking thread that holds the
//! connection (`sqlite::read::now`), with no executor: no runtime handle to
//! carry into the blocking pool, and no way for a SQLite read to park a
//! thread of the runtime.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;

use async_trait::async_trait;

use super::{StoreError, StoreResult};

/// A statement in the shared text, PostgreSQL's `$n` form, and in SQLite's,
/// derived from it once ([`sqlite_form`]): statements are built when first
/// used and kept, so a page formats no SQL.
#[derive(Debug)]
pub struct Statement {
    postgres: String,
    sqlite: String,
}

impl Statement {
    pub fn new(text: impl Into<String>) -> Self {
        let postgres = text.into();
        let sqlite = sqlite_form(&postgres);
        Statement { postgres, sqlite }
    }

    /// A statement whose PostgreSQL text is not the shared one: where the
    /// two planners need differently shaped queries to take the same plan.
    /// Both texts must mean the same; the tests that run on both backends
    /// compare their answers.
    pub fn per_dialect(postgres: impl Into<String>, shared: &str) -> Self {
        Statement {
            postgres: postgres.into(),
            sqlite: sqlite_form(shared),
        }
    }

    /// The shared text, as PostgreSQL runs it.
    pub fn postgres(&self) -> &str {
        &self.postgres
    }

    pub fn sqlite(&self) -> &str {
        &self.sqlite
    }

    /// This statement with `params` bound, in order, to `$1`, `$2`, ...
    pub fn with<'a>(&'a self, params: &'a [Param<'a>]) -> Query<'a> {
        Query {
            statement: self,
            params,
        }
    }
}

/// SQLite numbers parameters `?1`; the shared text uses `$1`.
///
/// The shared text also marks, as comments PostgreSQL ignores, where a
/// query must read `reports` (or `queries`, `charts`) through one of its
/// narrow partial indexes, and SQLite is told so. `reports` is a `WITHOUT ROWID` table there, and
/// without statistics SQLite's planner rates a range of its primary key,
/// which holds whole rows, as good as the index: a count then read every
/// report row, and the count of reports in personal spaces read them all
/// once per personal space (over 30 s at 100,000 reports).
pub fn sqlite_form(sql: &str) -> String {
    sql.replace('$', "?")
        .replace("/*live*/", "INDEXED BY reports_live")
        .replace("/*live_by_space*/", "INDEXED BY reports_live_by_space")
        .replace("/*live_by_views*/", "INDEXED BY reports_live_by_views")
        .replace("/*queries_by_id*/", "INDEXED BY queries_by_id")
        .replace(
            "/*queries_live_by_token*/",
            "INDEXED BY queries_live_by_token",
        )
        .replace("/*charts_by_id*/", "INDEXED BY charts_by_id")
        // A report's own queries and charts: without statistics SQLite
        // walks every query of the workspace through a covering index.
        .replace("/*queries_by_report*/", "INDEXED BY queries_by_report")
        .replace("/*charts_by_query*/", "INDEXED BY charts_by_query")
}

/// A bound parameter, in the types the tables use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param<'a> {
    Int(Option<i64>),
    Bool(bool),
    Text(Option<&'a str>),
    Bytes(&'a [u8]),
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Param::Int(Some(value))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(value: Option<i64>) -> Self {
        Param::Int(value)
    }
}

impl From<bool> for Param<'_> {
    fn from(value: bool) -> Self {
        Param::Bool(value)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Param::Text(Some(value))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Param::Text(value)
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(value: &'a [u8]) -> Self {
        Param::Bytes(value)
    }
}

/// A statement with its parameters, ready to run.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    pub statement: &'a Statement,
    pub params: &'a [Param<'a>],
}

/// One row of a result, as each backend reads it: columns by position, in
/// the few types the tables hold, NULL as `None`. Read through
/// [`get`](#method.get), which names the Rust type wanted.
pub trait Row {
    fn int(&self, column: usize) -> StoreResult<Option<i64>>;
    fn text(&self, column: usize) -> StoreResult<Option<String>>;
    fn bytes(&self, column: usize) -> StoreResult<Option<Vec<u8>>>;
}

/// Implements [`Row`] for a backend's row type with its own typed getter
/// (`$get(column)`, whose error converts into a [`StoreError`]).
macro_rules! row_through {
    ($row:ty, $get:ident) => {
        impl $crate::storage::session::Row for $row {
            fn int(&self, column: usize) -> $crate::storage::StoreResult<Option<i64>> {
                Ok(self.$get(column)?)
            }

            fn text(&self, column: usize) -> $crate::storage::StoreResult<Option<String>> {
                Ok(self.$get(column)?)
            }

            fn bytes(&self, column: usize) -> $crate::storage::StoreResult<Option<Vec<u8>>> {
                Ok(self.$get(column)?)
            }
        }
    };
}
pub(crate) use row_through;

impl dyn Row + '_ {
    /// Column `column` as a `T`; a NULL where `T` has none is an error.
    pub fn get<T: FromColumn>(&self, column: usize) -> StoreResult<T> {
        T::from_column(self, column)
    }
}

/// A Rust type a column is read into.
pub trait FromColumn: Sized {
    fn from_column(row: &dyn Row, column: usize) -> StoreResult<Self>;
}

/// `T` and `Option<T>` read with `Row::$read`.
macro_rules! from_column {
    ($($type:ty => $read:ident),+) => {
        $(
            impl FromColumn for Option<$type> {
                fn from_column(row: &dyn Row, column: usize) -> StoreResult<Self> {
                    row.$read(column)
                }
            }

            impl FromColumn for $type {
                fn from_column(row: &dyn Row, column: usize) -> StoreResult<Self> {
                    row.$read(column)?.ok_or_else(|| {
                        StoreError::Other(anyhow::anyhow!("column {column} is unexpectedly NULL"))
                    })
                }
            }
        )+
    };
}

from_column!(i64 => int, String => text, Vec<u8> => bytes);

/// What a statement that writes did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// It changed this many rows.
    Rows(u64),
    /// It would have broken a unique constraint, and changed nothing. On
    /// PostgreSQL this also ends the transaction: the work must stop.
    Duplicate,
}

/// Receives the rows of a statement, in order, and says whether to go on;
/// an error stops the statement too.
pub type EachRow<'a> = dyn FnMut(&dyn Row) -> StoreResult<ControlFlow<()>> + Send + 'a;

/// Statements run on one connection, in whatever transaction the backend
/// opened for the work (see [`Access`]). Each backend keeps its statements
/// prepared: SQLite in the connection's cache, PostgreSQL in sqlx's.
#[async_trait]
pub trait Session: Send {
    /// Runs a query, handing each row to `each` until it says to stop.
    async fn rows(&mut self, query: Query<'_>, each: &mut EachRow<'_>) -> StoreResult<()>;

    /// Runs a statement that writes.
    async fn execute(&mut self, query: Query<'_>) -> StoreResult<Written>;
}

impl dyn Session + '_ {
    /// Runs a query, handing every row to `each`.
    pub async fn each(
        &mut self,
        query: Query<'_>,
        mut each: impl FnMut(&dyn Row) -> StoreResult<()> + Send,
    ) -> StoreResult<()> {
        self.rows(query, &mut move |row| {
            each(row)?;
            Ok(ControlFlow::Continue(()))
        })
        .await
    }

    /// The first row of a query, read by `read`, if there is one.
    pub async fn first<T: Send>(
        &mut self,
        query: Query<'_>,
        mut read: impl FnMut(&dyn Row) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        let mut first = None;
        let found = &mut first;
        self.rows(query, &mut move |row| {
            *found = Some(read(row)?);
            Ok(ControlFlow::Break(()))
        })
        .await?;
        Ok(first)
    }

    /// Column 0 of the one row a query returns (a count, a version).
    pub async fn one<T: FromColumn + Send>(&mut self, query: Query<'_>) -> StoreResult<T> {
        let text = query.statement.postgres();
        self.first(query, |row| row.get(0))
            .await?
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("no row from `{text}`")))
    }

    /// Every row of a query, each read by `read`.
    pub async fn all<T: Send>(
        &mut self,
        query: Query<'_>,
        mut read: impl FnMut(&dyn Row) -> StoreResult<T> + Send,
    ) -> StoreResult<Vec<T>> {
        let mut all = Vec::new();
        let rows = &mut all;
        self.each(query, move |row| {
            rows.push(read(row)?);
            Ok(())
        })
        .await?;
        Ok(all)
    }
}

/// What a [`Work`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A reader, each statement on its own: single lookups, where a
    /// transaction would only add round trips.
    Statements,
    /// A reader in one read-only snapshot, so that a page's count and rows
    /// agree while batches are written (PostgreSQL: `REPEATABLE READ READ
    /// ONLY`; SQLite: a deferred transaction on a WAL reader).
    Snapshot,
    /// The writer, in one transaction, committed if the work succeeds.
    Write,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Work for a backend to run on a session of the [`Access`] it asks for.
pub type Work<T> =
    Box<dyn for<'s> FnOnce(&'s mut dyn Session) -> BoxFuture<'s, StoreResult<T>> + Send>;

/// Boxes `work`, taking care of the closure's higher-ranked signature: write
/// `work(move |session| Box::pin(async move { ... }))`.
pub fn work<T, F>(work: F) -> Work<T>
where
    F: for<'s> FnOnce(&'s mut dyn Session) -> BoxFuture<'s, StoreResult<T>> + Send + 'static,
{
    Box::new(work)
}

/// Declares the columns a query selects as a struct: the fields, in order,
/// are the select list ([`COLUMNS`](#associatedconstant.COLUMNS),
/// `select_list`) and the order a row is read in (`from_row`), so the SQL
/// and the mapping cannot disagree.
macro_rules! selected_columns {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($field:ident: $type:ty),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(pub $field: $type),+
        }

        impl $name {
            /// The selected columns, in order.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];
            /// How many columns there are: the index of a column selected
            /// after them.
            #[allow(dead_code)]
            pub const COUNT: usize = Self::COLUMNS.len();

            /// The columns as a select list, each qualified by `alias`
            /// (`"r."`, or `""`).
            pub fn select_list(alias: &str) -> String {
                $crate::storage::session::select_list(alias, Self::COLUMNS)
            }

            /// The columns as a select list across joined tables: each
            /// qualified by the alias `aliases` pairs with its name, or by
            /// the one paired with `""`.
            #[allow(dead_code)]
            pub fn select_list_with(aliases: &[(&str, &str)]) -> String {
                $crate::storage::session::select_list_with(aliases, Self::COLUMNS)
            }

            /// Reads the columns from `row`, in order from column `first`.
            pub fn from_row_at(
                row: &dyn $crate::storage::session::Row,
                first: usize,
            ) -> $crate::storage::StoreResult<Self> {
                let mut column = first;
                Ok($name {
                    $($field: {
                        column += 1;
                        row.get(column - 1)?
                    }),+
                })
            }

            pub fn from_row(
                row: &dyn $crate::storage::session::Row,
            ) -> $crate::storage::StoreResult<Self> {
                Self::from_row_at(row, 0)
            }
        }
    };
}
pub(crate) use selected_columns;

/// `alias` before each of `columns`, comma-separated.
pub fn select_list(alias: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|column| format!("{alias}{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each of `columns` qualified by its alias in `aliases`, or by the one
/// given for `""`; comma-separated.
pub fn select_list_with(aliases: &[(&str, &str)], columns: &[&str]) -> String {
    let alias_of = |column: &str| {
        aliases
            .iter()
            .find(|(name, _)| *name == column)
            .or_else(|| aliases.iter().find(|(name, _)| name.is_empty()))
            .map_or("", |(_, alias)| *alias)
    };
    columns
        .iter()
        .map(|column| format!("{}{column}", alias_of(column)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    selected_columns! {
        struct Pair {
            left: i64,
            right: Option<String>,
        }
    }

    struct Values(Vec<Option<&'static str>>);

    impl Row for Values {
        fn int(&self, column: usize) -> StoreResult<Option<i64>> {
            Ok(self.0[column].map(|text| text.parse().unwrap()))
        }
        fn text(&self, column: usize) -> StoreResult<Option<String>> {
            Ok(self.0[column].map(str::to_owned))
        }
        fn bytes(&self, column: usize) -> StoreResult<Option<Vec<u8>>> {
            Ok(self.0[column].map(|text| text.as_bytes().to_vec()))
        }
    }

    #[test]
    fn a_declared_struct_selects_and_reads_its_fields_in_order() {
        assert_eq!(Pair::select_list("p."), "p.left, p.right");
        let row = Values(vec![Some("skipped"), Some("7"), None]);
        let pair = Pair::from_row_at(&row, 1).unwrap();
        assert_eq!((pair.left, pair.right), (7, None));
        let missing = Values(vec![None, Some("text")]);
        assert!(Pair::from_row(&missing).is_err());
    }

    #[test]
    fn sqlite_takes_numbered_parameters_and_the_marked_indexes() {
        let statement = Statement::new("SELECT 1 FROM reports /*live*/ WHERE a = $1 AND b = $12");
        assert_eq!(
            statement.sqlite(),
            "SELECT 1 FROM reports INDEXED BY reports_live WHERE a = ?1 AND b = ?12"
        );
        assert_eq!(
            statement.postgres(),
            "SELECT 1 FROM reports /*live*/ WHERE a = $1 AND b = $12"
        );
    }
}
