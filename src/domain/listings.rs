//! The other batch listings of SPEC section 5: reports, spaces and members,
//! as facts (the HTTP layer adds URLs). Like [`super::stats`], each has a
//! from-scratch computation over a [`Changes`], the reference the stored
//! listings are tested against.

use sha2::{Digest, Sha256};

use super::event::SpaceType;
use super::names::Token;
use super::state::Changes;
use super::stats::SpaceFilter;
use super::timestamp::Timestamp;

/// A space's integer id: the first 53 bits of the SHA-256 of its token.
///
/// Derived, not counted, so that it is the same after a restart, a re-import
/// of the same events in another order, or a copy to another database. 53
/// bits keep it exact in every JSON client; two tokens would share an id
/// with odds of about one in 10^10 for a workspace of ten thousand spaces.
pub fn space_id(token: &str) -> i64 {
    let digest = Sha256::digest(token.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let id = (u64::from_be_bytes(first) >> 11) as i64;
    id.max(1)
}

/// A report as `GET /batch/{workspace}/reports` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    pub id: i64,
    pub token: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub created_at: Option<Timestamp>,
    pub edited_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub last_run_at: Option<Timestamp>,
    pub last_run_token: Option<String>,
    pub last_run_state: Option<String>,
    pub last_successfully_run_at: Option<Timestamp>,
    pub last_viewed_at: Option<Timestamp>,
    pub creator_email: Option<String>,
    pub space_token: Option<String>,
}

impl ReportRow {
    pub fn space_id(&self) -> Option<i64> {
        self.space_token.as_deref().map(space_id)
    }
}

/// A space as `GET /batch/{workspace}/spaces` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceRow {
    pub id: i64,
    pub token: String,
    pub name: String,
    pub description: Option<String>,
    pub space_type: String,
}

/// A member as `GET /batch/{workspace}/members` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

/// The latest change of any kind: creation, edit or move.
pub fn updated_at(parts: [Option<Timestamp>; 3]) -> Option<Timestamp> {
    parts.into_iter().flatten().max()
}

fn is_personal(state: &Changes, space: Option<&Token>) -> bool {
    space
        .and_then(|token| state.spaces.get(token))
        .and_then(|space| space.definition.as_ref())
        .is_some_and(|definition| definition.value.space_type == SpaceType::Private)
}

/// Live reports, by id, the same ones `report_stats` lists.
pub fn compute_reports(state: &Changes, filter: SpaceFilter) -> Vec<ReportRow> {
    state
        .reports
        .iter()
        .filter(|(_, report)| report.definition.is_some() && !report.deleted)
        .filter(|(_, report)| {
            filter == SpaceFilter::All
                || !is_personal(state, report.space.as_ref().map(|space| &space.value))
        })
        .map(|(id, report)| {
            let definition = report.definition.as_ref().map(|register| &register.value);
            ReportRow {
                id: id.get(),
                token: definition
                    .map(|d| d.report_token.as_str().to_owned())
                    .unwrap_or_default(),
                name: report
                    .name
                    .as_ref()
                    .map(|name| name.value.as_str().to_owned()),
                description: report
                    .description
                    .as_ref()
                    .and_then(|description| description.value.as_ref())
                    .map(|description| description.as_str().to_owned()),
                created_at: report.created_at,
                edited_at: report.edited_at,
                updated_at: updated_at([
                    report.definition.as_ref().map(|register| register.stamp.at),
                    report.edited_at,
                    report.space.as_ref().map(|register| register.stamp.at),
                ]),
                last_run_at: report.last_run.as_ref().map(|run| run.stamp.at),
                last_run_token: report
                    .last_run
                    .as_ref()
                    .map(|run| run.value.run_token.as_str().to_owned()),
                last_run_state: report
                    .last_run
                    .as_ref()
                    .map(|run| run.value.state.as_str().to_owned()),
                last_successfully_run_at: report.last_successful_run_at,
                last_viewed_at: report.last_viewed_at,
                creator_email: definition.map(|d| d.creator.as_str().to_owned()),
                space_token: report
                    .space
                    .as_ref()
                    .map(|space| space.value.as_str().to_owned()),
            }
        })
        .collect()
}

/// Spaces upserted and not deleted, personal ones only for `All`, by id.
pub fn compute_spaces(state: &Changes, filter: SpaceFilter) -> Vec<SpaceRow> {
    let mut rows: Vec<SpaceRow> = state
        .spaces
        .iter()
        .filter(|(_, space)| !space.deleted)
        .filter_map(|(token, space)| {
            let definition = &space.definition.as_ref()?.value;
            if filter == SpaceFilter::ExcludePersonal && definition.space_type == SpaceType::Private
            {
                return None;
            }
            Some(SpaceRow {
                id: space_id(token.as_str()),
                token: token.as_str().to_owned(),
                name: definition.name.as_str().to_owned(),
                description: definition
                    .description
                    .as_ref()
                    .map(|d| d.as_str().to_owned()),
                space_type: definition.space_type.as_str().to_owned(),
            })
        })
        .collect();
    rows.sort_by_key(|row| row.id);
    rows
}

/// Members whose latest upsert or removal is an upsert, by email.
pub fn compute_members(state: &Changes) -> Vec<MemberRow> {
    state
        .members
        .iter()
        .filter(|(_, member)| member.present.as_ref().is_some_and(|present| present.value))
        .map(|(email, member)| {
            let profile = member.profile.as_ref().map(|profile| &profile.value);
            MemberRow {
                email: email.as_str().to_owned(),
                username: profile
                    .and_then(|p| p.username.as_ref())
                    .map(|u| u.as_str().to_owned()),
                name: profile
                    .and_then(|p| p.name.as_ref())
                    .map(|n| n.as_str().to_owned()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_ids_are_stable_positive_and_json_safe() {
        let id = space_id("sp11x0001");
        assert_eq!(id, space_id("sp11x0001"));
        assert_ne!(id, space_id("sp11x0002"));
        for token in ["a", "sp11x0001", "ps11x000003", &"z".repeat(64)] {
            let id = space_id(token);
            assert!((1..=(1i64 << 53) - 1).contains(&id), "{token}: {id}");
        }
    }
}
