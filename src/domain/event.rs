//! The event format of SPEC section 3: how activity gets in.
//!
//! [`Event::parse`] turns one JSON object into an [`Event`] or into an
//! [`EventError`] that names the field at fault. The parser reads the object
//! with a hand-written visitor instead of `#[derive(Deserialize)]` so that
//! every message names the field (serde's own "invalid type" errors do not)
//! and so that strings are borrowed from the input, not copied twice.
//!
//! The parser's steps, one module each:
//!
//! - `kind`: the event types ([`EventKind`]) and the enumerations their
//!   fields take ([`SpaceType`], [`RunTrigger`], [`RunState`]);
//! - `error`: [`Position`] and [`EventError`];
//! - `raw_event`: the object as read, each known field's JSON value in its
//!   slot, filled by `flat_json` (the fast reader for flat lines) or by
//!   serde_json;
//! - `validation`: those values checked against the event's type and turned
//!   into an [`Event`].
//!
//! The canonical JSON an event is written back as is in
//! [`domain::canonical`](super::canonical).

use std::borrow::Cow;

mod error;
pub(crate) mod flat_json;
mod kind;
pub(crate) mod raw_event;
mod validation;

pub use error::{EventError, Position};
pub use kind::{EventKind, RunState, RunTrigger, SpaceType};

use super::names::{Email, EventId};
use super::timestamp::Timestamp;
use raw_event::RawEvent;

/// How far ahead of the server's clock an `occurred_at` may be: clocks drift,
/// but an event from next week is a bug in the sender.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 5 * 60;

/// One stored fact about a workspace's activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub occurred_at: Timestamp,
    pub kind: EventKind,
}

impl Event {
    /// The member whose activity this event is (SPEC section 5, "Mode's
    /// member object"): the creator, editor, viewer or manual runner it
    /// names. Removals, deletions, moves, pauses, scheduled runs and
    /// anonymous views have none.
    pub fn actor(&self) -> Option<&Email> {
        match &self.kind {
            EventKind::ReportCreated { email, .. }
            | EventKind::ReportEdited { email, .. }
            | EventKind::ScheduleCreated { email, .. }
            | EventKind::ExplorationCreated { email, .. }
            | EventKind::QueryCreated { email, .. }
            | EventKind::QueryEdited { email, .. }
            | EventKind::ChartCreated { email, .. }
            | EventKind::ChartEdited { email, .. } => Some(email),
            EventKind::ReportViewed { email, .. } => email.as_ref(),
            EventKind::ReportRun {
                trigger: RunTrigger::Manual { email },
                ..
            } => Some(email),
            _ => None,
        }
    }

    /// Parses one event from its JSON text.
    ///
    /// ```
    /// use reportstats::domain::{Event, Position, Timestamp};
    ///
    /// let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    /// let line = r#"{"id":"e1","type":"report_viewed","report_id":5244,"email":"Bob@Acme.com"}"#;
    /// let event = Event::parse(line, Position::Line(1), now).unwrap();
    /// assert_eq!(event.occurred_at, now, "occurred_at defaults to the time of receipt");
    ///
    /// let error = Event::parse(r#"{"id":"e2","type":"report_viewed"}"#, Position::Line(2), now).unwrap_err();
    /// assert_eq!(error.to_string(), "line 2: `report_id` is required");
    /// ```
    ///
    /// `received_at` is the server's clock when the batch arrived: the default
    /// `occurred_at`, and the reference for refusing far-future timestamps.
    pub fn parse(
        json: &str,
        position: Position,
        received_at: Timestamp,
    ) -> Result<Event, EventError> {
        let mut raw = RawEvent::default();
        raw.read(json, position)?;
        raw.take_event(position, received_at)
    }

    /// Parses one event, with the text the event log keeps for it: `json`
    /// itself when it says when the event occurred (the parser accepts only
    /// valid events, so it reads back as this same event), otherwise the
    /// canonical form, which records the time of receipt. Keeping the text
    /// as it came spares the import path a serialisation per event.
    pub fn parse_for_log(
        json: &str,
        position: Position,
        received_at: Timestamp,
    ) -> Result<(Event, Cow<'_, str>), EventError> {
        let mut raw = RawEvent::default();
        raw.read(json, position)?;
        let dated = raw.is_present("occurred_at");
        let event = raw.take_event(position, received_at)?;
        let body = if dated {
            Cow::Borrowed(json)
        } else {
            Cow::Owned(event.to_json())
        };
        Ok((event, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::{Description, ReportId};

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap()
    }

    fn parse(json: &str) -> Result<Event, EventError> {
        Event::parse(json, Position::Line(7), now())
    }

    fn rejection(json: &str) -> (Option<String>, String) {
        let error = parse(json).expect_err("the event should be rejected");
        assert_eq!(error.position, Position::Line(7));
        (error.field, error.message)
    }

    #[test]
    fn parses_every_field_of_a_report_created_event() {
        let event = parse(
            r#"{"id":"e1","type":"report_created","occurred_at":"2026-01-01T00:00:00Z","report_id":5244,
               "report_token":"728f6328ea67","space_token":"sp1","email":"Creator@Company.com","name":"Revenue","description":"Monthly"}"#,
        )
        .unwrap();
        assert_eq!(event.id.as_str(), "e1");
        let EventKind::ReportCreated {
            report_id,
            email,
            description,
            ..
        } = &event.kind
        else {
            panic!("wrong kind: {event:?}");
        };
        assert_eq!(report_id.get(), 5244);
        assert_eq!(email.as_str(), "creator@company.com");
        assert_eq!(
            description.as_ref().map(Description::as_str),
            Some("Monthly")
        );
    }

    #[test]
    fn occurred_at_defaults_to_the_time_of_receipt() {
        let event = parse(r#"{"id":"e1","type":"report_viewed","report_id":1}"#).unwrap();
        assert_eq!(event.occurred_at, now());
    }

    #[test]
    fn null_optional_fields_count_as_absent() {
        let event =
            parse(r#"{"id":"e1","type":"report_viewed","report_id":1,"email":null}"#).unwrap();
        assert_eq!(
            event.kind,
            EventKind::ReportViewed {
                report_id: ReportId::new(1).unwrap(),
                email: None
            }
        );
    }

    #[test]
    fn each_rejection_names_the_field_at_fault() {
        let cases = [
            (
                r#"{"type":"report_viewed","report_id":1}"#,
                "id",
                "is required",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":"1"}"#,
                "report_id",
                "must be an integer, got a string",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":1.5}"#,
                "report_id",
                "must be an integer from 1",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":0}"#,
                "report_id",
                "must be an integer from 1",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":1,"colour":"red"}"#,
                "colour",
                "is not a field of any event type",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":1,"space_token":"s"}"#,
                "space_token",
                "is not a field of `report_viewed` events",
            ),
            (
                r#"{"id":"e","type":"report_exploded","report_id":1}"#,
                "type",
                "`report_exploded` is not an event type",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":1,"occurred_at":"last tuesday"}"#,
                "occurred_at",
                "is not an RFC 3339 timestamp",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":1,"occurred_at":"2026-11-01T00:06:00Z"}"#,
                "occurred_at",
                "is more than 5 minutes in the future",
            ),
            (
                r#"{"id":"e","type":"member_upserted","email":"nobody"}"#,
                "email",
                "must look like name@domain",
            ),
            (
                r#"{"id":"e","type":"space_upserted","space_token":"s","name":"n","space_type":"secret"}"#,
                "space_type",
                "must be one of",
            ),
            (
                r#"{"id":"e","type":"report_run","report_id":1,"run_token":"r","trigger":"manual"}"#,
                "email",
                "is required",
            ),
            (
                r#"{"id":"e","type":"report_run","report_id":1,"run_token":"r","trigger":"scheduled","email":"a@b.c","schedule_token":"s"}"#,
                "email",
                "is only allowed when `trigger` is `manual`",
            ),
            (
                r#"{"id":"e","type":"report_run","report_id":1,"run_token":"r","trigger":"cron"}"#,
                "trigger",
                "must be `manual` or `scheduled`",
            ),
            (
                r#"{"id":"e","type":"report_run","report_id":1,"run_token":"r","trigger":"manual","email":"a@b.c","state":"ok"}"#,
                "state",
                "must be one of",
            ),
            (
                r#"{"id":"e","type":"report_viewed","report_id":1,"report_id":2}"#,
                "report_id",
                "appears more than once",
            ),
        ];
        for (json, field, message) in cases {
            let (got_field, got_message) = rejection(json);
            assert_eq!(got_field.as_deref(), Some(field), "{json}");
            assert!(got_message.starts_with(message), "{json}: {got_message}");
        }
    }

    #[test]
    fn over_long_strings_are_rejected_with_their_limit() {
        let json = format!(
            r#"{{"id":"{}","type":"report_deleted","report_id":1}}"#,
            "x".repeat(129)
        );
        let (field, message) = rejection(&json);
        assert_eq!(field.as_deref(), Some("id"));
        assert_eq!(message, "must be at most 128 characters, got 129");
    }

    #[test]
    fn what_is_not_an_object_is_rejected_without_a_field() {
        for json in ["[1,2]", "42", "{\"id\":", "{} {}", "\"text\""] {
            let (field, message) = rejection(json);
            assert_eq!(field, None, "{json}");
            assert!(
                message.starts_with("is not a valid JSON object"),
                "{json}: {message}"
            );
        }
    }

    #[test]
    fn the_canonical_form_parses_back_to_the_same_event() {
        let lines = [
            r#"{"id":"a","type":"report_run","report_id":3,"run_token":"r","trigger":"scheduled","schedule_token":"s","state":"failed"}"#,
            r#"{"id":"b","type":"member_upserted","email":"A@B.C","name":"Ann","username":"ann"}"#,
            r#"{"id":"c","type":"space_upserted","space_token":"s","name":"Team","description":"","space_type":"private"}"#,
            r#"{"id":"d","type":"report_edited","report_id":3,"email":"e@f.g","name":"New name"}"#,
            r#"{"id":"e \"quoted\" é","type":"exploration_deleted","exploration_token":"x"}"#,
        ];
        for line in lines {
            let event = parse(line).unwrap();
            let again = Event::parse(&event.to_json(), Position::Line(1), now()).unwrap();
            assert_eq!(event, again, "{line}");
        }
    }
}
