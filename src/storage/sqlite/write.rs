//! The write path: events into the log, their changes into the state tables.

use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use tokio::sync::mpsc;

use crate::domain::Event;
use crate::domain::state::{Changes, Register};
use crate::storage::sql;
use crate::storage::{IngestMessage, IngestSummary, StoreError, StoreResult, WorkspaceId};

/// Stores a stream of chunks in one transaction, committing only on
/// [`IngestMessage::Commit`].
pub(super) fn ingest_stream(
    connection: &mut Connection,
    workspace: WorkspaceId,
    mut messages: mpsc::Receiver<IngestMessage>,
) -> StoreResult<IngestSummary> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut summary = IngestSummary::default();
    loop {
        match messages.blocking_recv() {
            Some(IngestMessage::Events(events)) => {
                let new_events = store_events(&transaction, workspace, &events, &mut summary)?;
                merge_changes(&transaction, workspace, &Changes::from_events(new_events))?;
            }
            Some(IngestMessage::Commit) => {
                transaction.commit()?;
                return Ok(summary);
            }
            // Dropping the transaction rolls it back.
            None => return Err(StoreError::Aborted),
        }
    }
}

/// Appends events to the log; returns those not stored before.
fn store_events<'e>(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    events: &'e [Event],
    summary: &mut IngestSummary,
) -> rusqlite::Result<Vec<&'e Event>> {
    let mut insert = transaction.prepare_cached(
        "INSERT INTO events (workspace_id, event_id, body) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?;
    let mut new_events = Vec::with_capacity(events.len());
    for event in events {
        if insert.execute(params![workspace, event.id.as_str(), event.to_json()])? == 1 {
            new_events.push(event);
        }
    }
    summary.accepted += new_events.len() as u64;
    summary.duplicates += (events.len() - new_events.len()) as u64;
    Ok(new_events)
}

/// The stamp columns of a register: `(at, event)`, both NULL when absent.
fn stamp<T>(register: &Option<Register<T>>) -> (Option<i64>, Option<&str>) {
    register.as_ref().map_or((None, None), |register| {
        (
            Some(register.stamp.at.as_micros()),
            Some(register.stamp.event.as_str()),
        )
    })
}

fn micros(at: Option<crate::domain::Timestamp>) -> Option<i64> {
    at.map(crate::domain::Timestamp::as_micros)
}

/// Merges a batch's changes into the state tables.
fn merge_changes(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    changes: &Changes,
) -> rusqlite::Result<()> {
    let mut upsert_report = transaction.prepare_cached(&sql::for_sqlite(&sql::upsert_report()))?;
    let mut insert_editor = transaction.prepare_cached(&sql::for_sqlite(sql::INSERT_EDITOR))?;
    let mut upsert_manual_run =
        transaction.prepare_cached(&sql::for_sqlite(&sql::upsert_manual_run()))?;
    let mut insert_scheduled_run =
        transaction.prepare_cached(&sql::for_sqlite(sql::INSERT_SCHEDULED_RUN))?;
    for (report_id, report) in &changes.reports {
        let report_id = report_id.get();
        let (definition_at, definition_event) = stamp(&report.definition);
        let definition = report.definition.as_ref().map(|register| &register.value);
        let (name_at, name_event) = stamp(&report.name);
        let (description_at, description_event) = stamp(&report.description);
        let description = report
            .description
            .as_ref()
            .and_then(|register| register.value.as_ref())
            .map(|description| description.as_str());
        let (space_at, space_event) = stamp(&report.space);
        let (last_run_at, last_run_event) = stamp(&report.last_run);
        let last_run = report.last_run.as_ref().map(|register| &register.value);
        upsert_report.execute(params![
            workspace,
            report_id,
            definition_at,
            definition_event,
            definition.map(|definition| definition.report_token.as_str()),
            definition.map(|definition| definition.creator.as_str()),
            name_at,
            name_event,
            report.name.as_ref().map(|register| register.value.as_str()),
            description_at,
            description_event,
            description,
            space_at,
            space_event,
            report
                .space
                .as_ref()
                .map(|register| register.value.as_str()),
            last_run_at,
            last_run_event,
            last_run.map(|run| run.run_token.as_str()),
            last_run.map(|run| run.state.as_str()),
            report.deleted,
            report.views as i64,
            micros(report.last_viewed_at),
            micros(report.created_at),
            micros(report.edited_at),
            micros(report.last_successful_run_at),
        ])?;
        for email in &report.editors {
            insert_editor.execute(params![workspace, report_id, email.as_str()])?;
        }
        for (email, at) in &report.manual_runs {
            upsert_manual_run.execute(params![
                workspace,
                report_id,
                email.as_str(),
                at.as_micros()
            ])?;
        }
        for schedule_token in &report.scheduled_runs {
            insert_scheduled_run.execute(params![workspace, report_id, schedule_token.as_str()])?;
        }
    }

    let mut upsert_schedule =
        transaction.prepare_cached(&sql::for_sqlite(&sql::upsert_schedule()))?;
    for (token, schedule) in &changes.schedules {
        let (definition_at, definition_event) = stamp(&schedule.definition);
        let link = schedule.definition.as_ref().map(|register| &register.value);
        let (paused_at, paused_event) = stamp(&schedule.paused);
        upsert_schedule.execute(params![
            workspace,
            token.as_str(),
            definition_at,
            definition_event,
            link.map(|link| link.report_id.get()),
            link.map(|link| link.creator.as_str()),
            paused_at,
            paused_event,
            schedule
                .paused
                .as_ref()
                .is_some_and(|register| register.value),
            schedule.deleted,
        ])?;
    }

    let mut upsert_exploration =
        transaction.prepare_cached(&sql::for_sqlite(&sql::upsert_exploration()))?;
    for (token, exploration) in &changes.explorations {
        let (definition_at, definition_event) = stamp(&exploration.definition);
        let link = exploration
            .definition
            .as_ref()
            .map(|register| &register.value);
        upsert_exploration.execute(params![
            workspace,
            token.as_str(),
            definition_at,
            definition_event,
            link.map(|link| link.report_id.get()),
            link.map(|link| link.creator.as_str()),
            exploration.deleted,
        ])?;
    }

    let mut upsert_space = transaction.prepare_cached(&sql::for_sqlite(&sql::upsert_space()))?;
    for (token, space) in &changes.spaces {
        let (definition_at, definition_event) = stamp(&space.definition);
        let definition = space.definition.as_ref().map(|register| &register.value);
        upsert_space.execute(params![
            workspace,
            token.as_str(),
            definition_at,
            definition_event,
            definition.map(|definition| definition.name.as_str()),
            definition.and_then(|definition| definition.description.as_ref().map(|d| d.as_str())),
            definition.map(|definition| definition.space_type.as_str()),
            space.deleted,
        ])?;
    }

    let mut upsert_member = transaction.prepare_cached(&sql::for_sqlite(&sql::upsert_member()))?;
    for (email, member) in &changes.members {
        let (profile_at, profile_event) = stamp(&member.profile);
        let profile = member.profile.as_ref().map(|register| &register.value);
        let (present_at, present_event) = stamp(&member.present);
        upsert_member.execute(params![
            workspace,
            email.as_str(),
            profile_at,
            profile_event,
            profile.and_then(|profile| profile.username.as_ref().map(|username| username.as_str())),
            profile.and_then(|profile| profile.name.as_ref().map(|name| name.as_str())),
            present_at,
            present_event,
            member.present.as_ref().map(|register| register.value),
        ])?;
    }
    Ok(())
}
