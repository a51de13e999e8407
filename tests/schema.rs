//! The migrations make exactly the state tables that `storage::schema`
//! declares, on both backends: every declared column exists with its
//! declared type, no table has a column the declaration does not know, and
//! the primary keys are the declared keys. A column added to a declaration
//! without its migration (or the other way round) fails here.

mod common;

use common::TestDatabase;
use reportstats::domain::state::Changes;
use reportstats::storage::schema::table_rows;
use reportstats::storage::sql::ColumnType;

/// A state table as a database holds it: its columns with their types, in
/// order, and its primary key.
#[derive(Debug, PartialEq, Eq)]
struct TableShape {
    columns: Vec<(String, String)>,
    key: Vec<String>,
}

/// What the declarations say each table must be, with each column type as
/// `dialect` names it.
fn declared(dialect: fn(ColumnType) -> &'static str) -> Vec<(&'static str, TableShape)> {
    table_rows(&Changes::default())
        .into_iter()
        .map(|table| {
            let upsert = table.upsert;
            let workspace_id = (
                "workspace_id".to_owned(),
                dialect(ColumnType::BigInt).to_owned(),
            );
            let columns = std::iter::once(workspace_id)
                .chain(
                    upsert
                        .columns
                        .into_iter()
                        .map(|(name, column_type)| (name, dialect(column_type).to_owned())),
                )
                .collect();
            let key = std::iter::once("workspace_id".to_owned())
                .chain(upsert.key)
                .collect();
            (upsert.table, TableShape { columns, key })
        })
        .collect()
}

fn sqlite_type(column_type: ColumnType) -> &'static str {
    match column_type {
        // SQLite has no boolean type: flags are integers.
        ColumnType::BigInt | ColumnType::Bool => "INTEGER",
        ColumnType::Text => "TEXT",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tables_are_what_the_schema_declares() {
    let database = TestDatabase::sqlite();
    drop(database.open().await);
    let path = database.url.strip_prefix("sqlite://").unwrap();
    let connection = rusqlite::Connection::open(path).unwrap();
    for (table, expected) in declared(sqlite_type) {
        let mut statement = connection
            .prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        let rows: Vec<(String, String, i64)> = statement
            .query_map([table], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut key: Vec<(i64, String)> = rows
            .iter()
            .filter(|(_, _, pk)| *pk > 0)
            .map(|(name, _, pk)| (*pk, name.clone()))
            .collect();
        key.sort();
        let actual = TableShape {
            columns: rows
                .into_iter()
                .map(|(name, column_type, _)| (name, column_type))
                .collect(),
            key: key.into_iter().map(|(_, name)| name).collect(),
        };
        assert_eq!(actual, expected, "SQLite table {table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tables_are_what_the_schema_declares() {
    let Some(database) =
        TestDatabase::postgres("postgres_tables_are_what_the_schema_declares").await
    else {
        return;
    };
    drop(database.open().await);
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    for (table, expected) in declared(ColumnType::postgres_name) {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1
             ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
        .unwrap();
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT attribute.attname::text
             FROM pg_index AS index
             JOIN pg_attribute AS attribute
               ON attribute.attrelid = index.indrelid AND attribute.attnum = ANY(index.indkey)
             WHERE index.indrelid = (current_schema() || '.' || $1)::regclass
               AND index.indisprimary
             ORDER BY array_position(index.indkey::int2[], attribute.attnum)",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            TableShape { columns, key },
            expected,
            "PostgreSQL table {table}"
        );
    }
    pool.close().await;
}
