//! Group commit (`storage::group_commit`) on both backends: batches sent at
//! once are committed together, yet each keeps its own summary, stays all
//! or nothing, and fails alone when the database refuses it.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{TestDatabase, create_workspace, fixture_now};
use reportstats::domain::stats::SpaceFilter;
use reportstats::domain::{Event, Position};
use reportstats::storage::{self, IngestSummary, Store, StoreResult, WorkspaceId};

fn created(report: u64) -> Event {
    let line = format!(
        r#"{{"id":"created-{report}","type":"report_created","report_id":{report},"report_token":"rep{report}","space_token":"team","occurred_at":"2024-04-01T12:00:00Z","email":"ana@example.com","name":"Report {report}"}}"#
    );
    Event::parse(&line, Position::Line(1), fixture_now()).unwrap()
}

fn view(id: &str, report: u64) -> Event {
    let line = format!(
        r#"{{"id":"{id}","type":"report_viewed","report_id":{report},"occurred_at":"2024-05-01T12:00:00Z","email":"ana@example.com"}}"#
    );
    Event::parse(&line, Position::Line(1), fixture_now()).unwrap()
}

/// Sends every batch at once and waits for all of them, in the batches'
/// order.
async fn send_at_once(
    store: &Arc<dyn Store>,
    workspace: WorkspaceId,
    batches: Vec<Vec<Event>>,
) -> Vec<StoreResult<IngestSummary>> {
    let sent: Vec<_> = batches
        .into_iter()
        .map(|events| {
            let store = store.clone();
            tokio::spawn(async move { storage::ingest(store.as_ref(), workspace, events).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for batch in sent {
        outcomes.push(batch.await.unwrap());
    }
    outcomes
}

async fn logged_ids(store: &dyn Store, workspace: WorkspaceId) -> HashSet<String> {
    let log = store.event_log(workspace).await.unwrap();
    log.into_iter()
        .map(|event| event.id.as_str().to_owned())
        .collect()
}

/// 200 batches at once, each of three events, where every id is carried
/// by four batches: each id is stored once, every batch hears exactly how
/// many of its own events were new, and the statistics count each once.
async fn batches_at_once_each_keep_their_own_summary(database: TestDatabase) {
    let store = database.open().await;
    let workspace = create_workspace(store.as_ref(), "acme").await.workspace.id;
    let reports = (1..=7).map(created).collect();
    storage::ingest(store.as_ref(), workspace, reports)
        .await
        .unwrap();
    let batches: Vec<Vec<Event>> = (0..200u64)
        .map(|batch| {
            (0..3u64)
                .map(|slot| {
                    let id = (batch * 3 + slot) % 150;
                    view(&format!("evt-{id:04}"), id % 7 + 1)
                })
                .collect()
        })
        .collect();
    let outcomes = send_at_once(&store, workspace, batches).await;
    let summaries: Vec<IngestSummary> = outcomes.into_iter().map(Result::unwrap).collect();
    for summary in &summaries {
        assert_eq!(summary.accepted + summary.duplicates, 3);
    }
    let accepted: u64 = summaries.iter().map(|summary| summary.accepted).sum();
    assert_eq!(accepted, 150, "each of the 150 ids is accepted once");
    assert_eq!(logged_ids(store.as_ref(), workspace).await.len(), 157);

    let page = store
        .report_stats(
            workspace,
            storage::ReportStatsQuery {
                page: storage::PageRequest {
                    page: 1,
                    per_page: 100,
                },
                filter: SpaceFilter::All,
                recent_since: fixture_now(),
            },
        )
        .await
        .unwrap();
    let views: u64 = page.items.iter().map(|stat| stat.total_views_count).sum();
    assert_eq!(views, 150, "every view counted once");
}

/// A batch the database refuses (here a trigger refuses one event id) fails
/// alone: the batches committed with it are stored, none of its own events
/// is, and the writer goes on.
async fn a_batch_the_database_refuses_fails_alone(database: TestDatabase) {
    let store = database.open().await;
    let workspace = create_workspace(store.as_ref(), "acme").await.workspace.id;
    refuse_event_id(&database, "evt-refused").await;

    let mut batches: Vec<Vec<Event>> = (0..40)
        .map(|batch| {
            vec![
                view(&format!("evt-{batch:03}-a"), 1),
                view(&format!("evt-{batch:03}-b"), 2),
            ]
        })
        .collect();
    batches[17] = vec![view("evt-refused-neighbour", 3), view("evt-refused", 3)];
    let outcomes = send_at_once(&store, workspace, batches).await;
    for (index, outcome) in outcomes.iter().enumerate() {
        if index == 17 {
            assert!(outcome.is_err(), "the refused batch must fail");
        } else {
            assert_eq!(
                outcome.as_ref().unwrap().accepted,
                2,
                "batch {index} is stored"
            );
        }
    }
    let logged = logged_ids(store.as_ref(), workspace).await;
    assert_eq!(logged.len(), 78);
    assert!(
        !logged.contains("evt-refused-neighbour"),
        "a failed batch stores nothing"
    );

    let after = storage::ingest(store.as_ref(), workspace, vec![view("evt-after", 1)])
        .await
        .unwrap();
    assert_eq!(after.accepted, 1, "the writer goes on after a failed group");
}

/// Installs a trigger that makes the database refuse to log the event `id`.
async fn refuse_event_id(database: &TestDatabase, id: &str) {
    if let Some(path) = database.url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .execute_batch(&format!(
                "CREATE TRIGGER refuse BEFORE INSERT ON event_ids
                 WHEN NEW.event_id = '{id}'
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
            ))
            .unwrap();
    } else {
        let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&database.url)
            .await
            .unwrap();
        for statement in [
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW
                 WHEN (NEW.event_id = '{id}') EXECUTE FUNCTION refuse()"
            ),
        ] {
            sqlx::Executor::execute(&mut connection, statement.as_str())
                .await
                .unwrap();
        }
    }
}

on_every_backend!(
    batches_at_once_each_keep_their_own_summary,
    a_batch_the_database_refuses_fails_alone,
);
