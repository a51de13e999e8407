//! Keeps every workspace's window counts on the server's date (see
//! [`crate::storage::usage_windows`]), so that `report_usage` pages read
//! them rather than the day tables.
//!
//! One task moves them: at start, once a minute (the date rolls over while
//! a workspace may receive nothing, and an import starts its windows again
//! from nothing), and soon after a batch for a workspace this server has
//! not moved to today yet. Each round asks the database, on a reader, where
//! every workspace's windows end, and takes the writer only to move them. A
//! batch never waits for a move, and two moves of one database never run
//! from one server at once. What a page answers does not depend on it, only
//! what the page costs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::domain::clock::SharedClock;
use crate::domain::timestamp::UtcDay;
use crate::storage::{Store, WorkspaceId};

/// How often every workspace is looked at.
const EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct WindowsMover {
    /// The date each workspace's windows were last seen to end on by this
    /// server: what tells whether a batch should wake the mover.
    moved: Mutex<HashMap<WorkspaceId, UtcDay>>,
    wake: Notify,
}

impl WindowsMover {
    fn moved_to(&self, workspace: WorkspaceId) -> Option<UtcDay> {
        let moved = self.moved.lock().unwrap_or_else(PoisonError::into_inner);
        moved.get(&workspace).copied()
    }

    /// After a batch: wakes the mover if the workspace's windows may end
    /// on another date than `today`.
    pub fn after_batch(&self, workspace: WorkspaceId, today: UtcDay) {
        if self.moved_to(workspace) != Some(today) {
            self.wake.notify_one();
        }
    }

    /// Moves windows until the future is dropped.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>, clock: SharedClock) {
        loop {
            let today = clock.now().utc_day();
            match store.workspaces().await {
                Ok(workspaces) => {
                    for workspace in workspaces {
                        self.move_one(store.as_ref(), workspace.id, today).await;
                    }
                }
                Err(error) => tracing::warn!(%error, "listing workspaces to move their windows"),
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    async fn move_one(&self, store: &dyn Store, workspace: WorkspaceId, today: UtcDay) {
        let started = Instant::now();
        match store.roll_usage_windows(workspace, today).await {
            Ok(rolled) => {
                if rolled {
                    // Once a day per workspace: what it cost the writer.
                    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
                    tracing::info!(workspace, %today, duration_ms, "moved the usage windows");
                }
                let mut moved = self.moved.lock().unwrap_or_else(PoisonError::into_inner);
                moved.insert(workspace, today);
            }
            // Pages compute their counts meanwhile; the next round tries again.
            Err(error) => tracing::warn!(workspace, %error, "moving the usage windows"),
        }
    }
}
