//! The other batch listings of SPEC section 5: reports, spaces, members,
//! queries and charts,
//! as facts (the HTTP layer adds URLs). Like [`super::stats`], each has a
//! from-scratch computation over a [`Changes`], the reference the stored
//! listings are tested against.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::event::SpaceType;
use super::names::Token;
use super::state::Changes;
use super::stats::SpaceFilter;
use super::timestamp::{Timestamp, UtcDay};

/// A space's integer id: the first 53 bits of the SHA-256 of its token.
///
/// Derived, not counted, so that it is the same after a restart, a re-import
/// of the same events in another order, or a copy to another database. 53
/// bits keep it exact in every JSON client; two tokens would share an id
/// with odds of about one in 10^10 for a workspace of ten thousand spaces.
pub fn space_id(token: &str) -> i64 {
    derived_id(token)
}

/// The integer id of anything named by a string (a space's, query's or
/// chart's token, a member's email): the first 53 bits of its SHA-256, for
/// the reasons [`space_id`] gives.
pub fn derived_id(key: &str) -> i64 {
    let digest = Sha256::digest(key.as_bytes());
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

/// A member as `GET /batch/{workspace}/members` lists it: the facts of
/// Mode's member object (SPEC section 5), from which the HTTP layer writes
/// its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    /// [`derived_id`] of the email.
    pub id: i64,
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub activated_at: Option<Timestamp>,
    pub last_report_created_at: Option<Timestamp>,
    pub last_report_viewed_at: Option<Timestamp>,
    pub last_report_run_at: Option<Timestamp>,
    pub last_exploration_created_at: Option<Timestamp>,
    /// The latest activity of any kind.
    pub last_active_at: Option<Timestamp>,
    /// The number of distinct UTC dates with activity.
    pub total_days_engaged: u64,
}

impl MemberRow {
    /// The membership's token (Mode's `token`).
    pub fn token(&self) -> String {
        member_token("membership", &self.email)
    }

    /// The person's token (Mode's `member_token`), by which `/api/{username}`
    /// also finds a member who has no username.
    pub fn member_token(&self) -> String {
        member_token("member", &self.email)
    }

    /// The UTC date of the latest activity.
    pub fn last_day_engaged(&self) -> Option<UtcDay> {
        self.last_active_at.map(Timestamp::utc_day)
    }
}

/// A stable 12-hex-digit token for `email`, one per `kind` so that the
/// membership's and the person's differ.
fn member_token(kind: &str, email: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update(":")
        .chain_update(email)
        .finalize();
    hex::encode(&digest[..6])
}

/// A query as `GET /batch/{workspace}/queries` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryRow {
    /// [`derived_id`] of the token.
    pub id: i64,
    pub token: String,
    pub name: String,
    pub raw_query: String,
    pub creator_email: String,
    pub data_source_token: String,
    pub report_id: i64,
    pub report_token: String,
    pub space_token: Option<String>,
    pub created_at: Option<Timestamp>,
    /// The latest of its creation and edits.
    pub updated_at: Option<Timestamp>,
}

/// A chart as `GET /batch/{workspace}/charts` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartRow {
    /// [`derived_id`] of the token.
    pub id: i64,
    pub token: String,
    pub chart_type: String,
    pub chart_title: Option<String>,
    pub query_id: i64,
    pub query_token: String,
    pub report_id: i64,
    pub report_token: String,
    pub space_token: Option<String>,
    pub report_creator_email: Option<String>,
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

/// Spaces upserted and not deleted (personal ones only for `All`), and
/// every space a listed report is in, deleted or never upserted: by id.
/// A space never upserted is shown with its token as its name, as a
/// `custom` space (SPEC section 5, "Joins never break").
pub fn compute_spaces(state: &Changes, filter: SpaceFilter) -> Vec<SpaceRow> {
    let carried: BTreeSet<String> = compute_reports(state, filter)
        .into_iter()
        .filter_map(|report| report.space_token)
        .collect();
    let mut rows: Vec<SpaceRow> = carried
        .iter()
        .filter(|token| Token::parse(token).is_ok_and(|token| !state.spaces.contains_key(&token)))
        .map(|token| never_upserted(token))
        .collect();
    rows.extend(state.spaces.iter().filter_map(|(token, space)| {
        let definition = space.definition.as_ref().map(|register| &register.value);
        let listed_itself = definition.is_some_and(|definition| {
            !space.deleted
                && (filter == SpaceFilter::All || definition.space_type != SpaceType::Private)
        });
        if !listed_itself && !carried.contains(token.as_str()) {
            return None;
        }
        let Some(definition) = definition else {
            return Some(never_upserted(token.as_str()));
        };
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
    }));
    rows.sort_by_key(|row| row.id);
    rows
}

fn never_upserted(token: &str) -> SpaceRow {
    SpaceRow {
        id: space_id(token),
        token: token.to_owned(),
        name: token.to_owned(),
        description: None,
        space_type: SpaceType::Custom.as_str().to_owned(),
    }
}

/// Queries created and not deleted whose report is listed, by id.
pub fn compute_queries(state: &Changes, filter: SpaceFilter) -> Vec<QueryRow> {
    let reports: BTreeMap<i64, ReportRow> = compute_reports(state, filter)
        .into_iter()
        .map(|report| (report.id, report))
        .collect();
    let mut rows: Vec<QueryRow> = state
        .queries
        .iter()
        .filter(|(_, query)| !query.deleted)
        .filter_map(|(token, query)| {
            let definition = &query.definition.as_ref()?.value;
            let report = reports.get(&definition.report_id.get())?;
            let value = |register: Option<&str>| register.unwrap_or_default().to_owned();
            Some(QueryRow {
                id: derived_id(token.as_str()),
                token: token.as_str().to_owned(),
                name: value(query.name.as_ref().map(|r| r.value.as_str())),
                raw_query: value(query.raw_query.as_ref().map(|r| r.value.as_str())),
                creator_email: definition.creator.as_str().to_owned(),
                data_source_token: value(query.data_source.as_ref().map(|r| r.value.as_str())),
                report_id: report.id,
                report_token: report.token.clone(),
                space_token: report.space_token.clone(),
                created_at: query.created_at,
                updated_at: query.updated_at,
            })
        })
        .collect();
    rows.sort_by_key(|row| row.id);
    rows
}

/// Charts created and not deleted whose query is listed, by id.
pub fn compute_charts(state: &Changes, filter: SpaceFilter) -> Vec<ChartRow> {
    let reports: BTreeMap<i64, ReportRow> = compute_reports(state, filter)
        .into_iter()
        .map(|report| (report.id, report))
        .collect();
    let queries: BTreeMap<String, QueryRow> = compute_queries(state, filter)
        .into_iter()
        .map(|query| (query.token.clone(), query))
        .collect();
    let mut rows: Vec<ChartRow> = state
        .charts
        .iter()
        .filter(|(_, chart)| !chart.deleted)
        .filter_map(|(token, chart)| {
            let definition = &chart.definition.as_ref()?.value;
            let query = queries.get(definition.query_token.as_str())?;
            Some(ChartRow {
                id: derived_id(token.as_str()),
                token: token.as_str().to_owned(),
                chart_type: chart
                    .chart_type
                    .as_ref()
                    .map(|r| r.value.as_str().to_owned())
                    .unwrap_or_default(),
                chart_title: chart.title.as_ref().map(|r| r.value.as_str().to_owned()),
                query_id: query.id,
                query_token: query.token.clone(),
                report_id: query.report_id,
                report_token: query.report_token.clone(),
                space_token: query.space_token.clone(),
                report_creator_email: reports
                    .get(&query.report_id)
                    .and_then(|report| report.creator_email.clone()),
            })
        })
        .collect();
    rows.sort_by_key(|row| row.id);
    rows
}

/// Members whose latest upsert or removal is an upsert, by id.
pub fn compute_members(state: &Changes) -> Vec<MemberRow> {
    let mut rows: Vec<MemberRow> = state
        .members
        .iter()
        .filter(|(_, member)| member.present.as_ref().is_some_and(|present| present.value))
        .map(|(email, member)| {
            let profile = member.profile.as_ref().map(|profile| &profile.value);
            MemberRow {
                id: derived_id(email.as_str()),
                email: email.as_str().to_owned(),
                username: profile
                    .and_then(|p| p.username.as_ref())
                    .map(|u| u.as_str().to_owned()),
                name: profile
                    .and_then(|p| p.name.as_ref())
                    .map(|n| n.as_str().to_owned()),
                activated_at: member.activated_at,
                last_report_created_at: member.last_report_created_at,
                last_report_viewed_at: member.last_report_viewed_at,
                last_report_run_at: member.last_report_run_at,
                last_exploration_created_at: member.last_exploration_created_at,
                last_active_at: member.last_active_at,
                total_days_engaged: member.active_days.len() as u64,
            }
        })
        .collect();
    rows.sort_by_key(|row| row.id);
    rows
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
