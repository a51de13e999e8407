//! The event format of SPEC section 3: how activity gets in.
//!
//! [`Event::parse`] turns one JSON object into an [`Event`] or into an
//! [`EventError`] that names the field at fault. The parser reads the object
//! with a hand-written visitor instead of `#[derive(Deserialize)]` so that
//! every message names the field (serde's own "invalid type" errors do not)
//! and so that strings are borrowed from the input, not copied twice.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

mod flat_json;

use super::names::{Description, Email, EventId, Name, NameError, ReportId, Token, Username};
use super::timestamp::{Timestamp, TimestampError};

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

/// The kind of a space; `Private` is a member's personal space, whose reports
/// `report_stats` leaves out unless asked for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpaceType {
    Custom,
    Community,
    Private,
}

impl SpaceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceType::Custom => "custom",
            SpaceType::Community => "community",
            SpaceType::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "custom" => Some(SpaceType::Custom),
            "community" => Some(SpaceType::Community),
            "private" => Some(SpaceType::Private),
            _ => None,
        }
    }
}

/// Who started a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunTrigger {
    Manual { email: Email },
    Scheduled { schedule_token: Token },
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunState {
    Succeeded,
    Failed,
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "succeeded" => Some(RunState::Succeeded),
            "failed" => Some(RunState::Failed),
            "cancelled" => Some(RunState::Cancelled),
            _ => None,
        }
    }
}

/// The event types of SPEC section 3 with their fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    MemberUpserted {
        email: Email,
        username: Option<Username>,
        name: Option<Name>,
    },
    MemberRemoved {
        email: Email,
    },
    SpaceUpserted {
        space_token: Token,
        name: Name,
        description: Option<Description>,
        space_type: SpaceType,
    },
    SpaceDeleted {
        space_token: Token,
    },
    ReportCreated {
        report_id: ReportId,
        report_token: Token,
        space_token: Token,
        email: Email,
        name: Name,
        description: Option<Description>,
    },
    ReportEdited {
        report_id: ReportId,
        email: Email,
        name: Option<Name>,
        description: Option<Description>,
    },
    ReportMoved {
        report_id: ReportId,
        space_token: Token,
    },
    ReportDeleted {
        report_id: ReportId,
    },
    ReportViewed {
        report_id: ReportId,
        email: Option<Email>,
    },
    ReportRun {
        report_id: ReportId,
        run_token: Token,
        trigger: RunTrigger,
        state: RunState,
    },
    ScheduleCreated {
        schedule_token: Token,
        report_id: ReportId,
        email: Email,
    },
    SchedulePaused {
        schedule_token: Token,
    },
    ScheduleResumed {
        schedule_token: Token,
    },
    ScheduleDeleted {
        schedule_token: Token,
    },
    ExplorationCreated {
        exploration_token: Token,
        report_id: ReportId,
        email: Email,
    },
    ExplorationDeleted {
        exploration_token: Token,
    },
}

impl EventKind {
    /// The `type` string of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::MemberUpserted { .. } => "member_upserted",
            EventKind::MemberRemoved { .. } => "member_removed",
            EventKind::SpaceUpserted { .. } => "space_upserted",
            EventKind::SpaceDeleted { .. } => "space_deleted",
            EventKind::ReportCreated { .. } => "report_created",
            EventKind::ReportEdited { .. } => "report_edited",
            EventKind::ReportMoved { .. } => "report_moved",
            EventKind::ReportDeleted { .. } => "report_deleted",
            EventKind::ReportViewed { .. } => "report_viewed",
            EventKind::ReportRun { .. } => "report_run",
            EventKind::ScheduleCreated { .. } => "schedule_created",
            EventKind::SchedulePaused { .. } => "schedule_paused",
            EventKind::ScheduleResumed { .. } => "schedule_resumed",
            EventKind::ScheduleDeleted { .. } => "schedule_deleted",
            EventKind::ExplorationCreated { .. } => "exploration_created",
            EventKind::ExplorationDeleted { .. } => "exploration_deleted",
        }
    }
}

/// Where an event sits in its batch, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Zero-based index in a JSON array.
    Index(usize),
    /// One-based line of an NDJSON body or file.
    Line(usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Index(index) => write!(f, "event {index}"),
            Position::Line(line) => write!(f, "line {line}"),
        }
    }
}

/// A rejected event: where it is, which field is wrong (when one is), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    pub position: Position,
    pub field: Option<String>,
    pub message: String,
}

impl EventError {
    fn new(position: Position, field: Option<&str>, message: impl Into<String>) -> Self {
        EventError {
            position,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The event is not a JSON object at all (bad JSON, or an array, ...).
    pub fn malformed(position: Position, message: impl Into<String>) -> Self {
        EventError::new(position, None, message)
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: `{}` {}", self.position, field, self.message),
            None => write!(f, "{}: {}", self.position, self.message),
        }
    }
}

impl std::error::Error for EventError {}

impl Event {
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

/// serde_json's messages end with "at line 1 column 17"; inside one event the
/// column is what helps, the line is the event's own.
fn json_error_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => format!(
            "is not a valid JSON object: {} (column {})",
            &text[..cut],
            error.column()
        ),
        None => format!("is not a valid JSON object: {text}"),
    }
}

/// The fields any event may carry; which of them a type allows is decided in
/// [`RawEvent::take_event`].
const FIELDS: [&str; 16] = [
    "id",
    "type",
    "occurred_at",
    "email",
    "username",
    "name",
    "description",
    "space_token",
    "space_type",
    "report_id",
    "report_token",
    "run_token",
    "trigger",
    "schedule_token",
    "state",
    "exploration_token",
];

/// The slot in [`FIELDS`] of the field named `key`. A `match` on the name
/// instead of a search of the list: it runs for every field of every event.
fn field_slot(key: &str) -> Option<usize> {
    Some(match key {
        "id" => 0,
        "type" => 1,
        "occurred_at" => 2,
        "email" => 3,
        "username" => 4,
        "name" => 5,
        "description" => 6,
        "space_token" => 7,
        "space_type" => 8,
        "report_id" => 9,
        "report_token" => 10,
        "run_token" => 11,
        "trigger" => 12,
        "schedule_token" => 13,
        "state" => 14,
        "exploration_token" => 15,
        _ => return None,
    })
}

/// A JSON value as far as validation needs to know it.
#[derive(Debug)]
enum RawValue<'a> {
    Null,
    Bool,
    Integer(i64),
    /// A number that is not an integer `i64` can hold.
    OtherNumber,
    String(Cow<'a, str>),
    Array,
    Object,
}

impl RawValue<'_> {
    fn kind(&self) -> &'static str {
        match self {
            RawValue::Null => "null",
            RawValue::Bool => "a boolean",
            RawValue::Integer(_) | RawValue::OtherNumber => "a number",
            RawValue::String(_) => "a string",
            RawValue::Array => "an array",
            RawValue::Object => "an object",
        }
    }
}

impl<'de> de::Deserialize<'de> for RawValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawValueVisitor;

        impl<'de> Visitor<'de> for RawValueVisitor {
            type Value = RawValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RawValue::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(RawValue::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawValue::Bool)
            }
            fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
                Ok(RawValue::Integer(value))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(value).map_or(RawValue::OtherNumber, RawValue::Integer))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawValue::OtherNumber)
            }
            fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(RawValue::String(Cow::Borrowed(value)))
            }
            fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
                Ok(RawValue::String(Cow::Owned(value.to_owned())))
            }
            fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
                Ok(RawValue::String(Cow::Owned(value)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawValue::Array)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawValue::Object)
            }
        }

        deserializer.deserialize_any(RawValueVisitor)
    }
}

/// An event object before validation: each known field's raw value, and the
/// first unknown field seen.
///
/// It is some 550 bytes, so it is filled and read where it lies
/// ([`RawEvent::read`], [`RawEvent::take_event`]): returned by value, it was
/// copied several times per event, and an import ran 2.6% more
/// instructions.
#[derive(Debug, Default)]
struct RawEvent<'a> {
    fields: [Option<RawValue<'a>>; FIELDS.len()],
    unknown_field: Option<String>,
    repeated_field: Option<&'static str>,
}

/// A key of an event object: the slot in [`FIELDS`] of a known field, or the
/// name of an unknown one. Only an unknown name is copied: serde reads a
/// `Cow<str>` as an owned `String`, an allocation per field of every event.
enum Key {
    Field(usize),
    Unknown(String),
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, key: &str) -> Result<Key, E> {
                Ok(match field_slot(key) {
                    Some(slot) => Key::Field(slot),
                    None => Key::Unknown(key.to_owned()),
                })
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Deserializes an event object into the [`RawEvent`] it holds.
struct RawEventSeed<'r, 'de>(&'r mut RawEvent<'de>);

impl<'de> de::DeserializeSeed<'de> for RawEventSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RawEventSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let raw = self.0;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Field(slot) => raw.set_field(slot, map.next_value::<RawValue<'de>>()?),
                Key::Unknown(name) => {
                    map.next_value::<IgnoredAny>()?;
                    raw.unknown_field.get_or_insert(name);
                }
            }
        }
        Ok(())
    }
}

/// Reads typed fields out of a [`RawEvent`], producing errors that name them.
struct Fields<'r, 'a> {
    raw: &'r mut RawEvent<'a>,
    position: Position,
}

impl<'a> Fields<'_, 'a> {
    fn error(&self, field: &str, message: impl Into<String>) -> EventError {
        EventError::new(self.position, Some(field), message)
    }

    fn slot(field: &str) -> usize {
        field_slot(field).unwrap_or_else(|| unreachable!("`{field}` is not in FIELDS"))
    }

    /// Takes a field out; `null` counts as absent.
    fn take(&mut self, field: &str) -> Option<RawValue<'a>> {
        match self.raw.fields[Self::slot(field)].take() {
            None | Some(RawValue::Null) => None,
            Some(value) => Some(value),
        }
    }

    fn optional_str(&mut self, field: &str) -> Result<Option<Cow<'a, str>>, EventError> {
        match self.take(field) {
            None => Ok(None),
            Some(RawValue::String(text)) => Ok(Some(text)),
            Some(other) => {
                Err(self.error(field, format!("must be a string, got {}", other.kind())))
            }
        }
    }

    fn required_str(&mut self, field: &str) -> Result<Cow<'a, str>, EventError> {
        self.optional_str(field)?
            .ok_or_else(|| self.error(field, "is required"))
    }

    fn parsed<T>(
        &self,
        field: &str,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, NameError>,
    ) -> Result<T, EventError> {
        parse(text).map_err(|error| self.error(field, error.to_string()))
    }

    fn required<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, NameError>,
    ) -> Result<T, EventError> {
        let text = self.required_str(field)?;
        self.parsed(field, &text, parse)
    }

    fn optional<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, NameError>,
    ) -> Result<Option<T>, EventError> {
        match self.optional_str(field)? {
            None => Ok(None),
            Some(text) => self.parsed(field, &text, parse).map(Some),
        }
    }

    fn token(&mut self, field: &str) -> Result<Token, EventError> {
        self.required(field, Token::parse)
    }

    fn email(&mut self, field: &str) -> Result<Email, EventError> {
        self.required(field, Email::parse)
    }

    fn report_id(&mut self) -> Result<ReportId, EventError> {
        const FIELD: &str = "report_id";
        match self.take(FIELD) {
            None => Err(self.error(FIELD, "is required")),
            Some(RawValue::Integer(value)) => {
                ReportId::new(value).map_err(|error| self.error(FIELD, error.to_string()))
            }
            Some(RawValue::OtherNumber) => {
                Err(self.error(FIELD, "must be an integer from 1 to 9007199254740991"))
            }
            Some(other) => {
                Err(self.error(FIELD, format!("must be an integer, got {}", other.kind())))
            }
        }
    }

    /// The first field still present after the type took what it allows.
    fn leftover(&self) -> Option<&'static str> {
        FIELDS
            .iter()
            .zip(&self.raw.fields)
            .find(|(_, value)| value.is_some())
            .map(|(field, _)| *field)
    }
}

impl<'a> RawEvent<'a> {
    /// Fills an empty `RawEvent` from the object `json`: by the fast reader
    /// of [`flat_json`] if it can, otherwise by serde_json.
    fn read(&mut self, json: &'a str, position: Position) -> Result<(), EventError> {
        if flat_json::read(json, self).is_some() {
            return Ok(());
        }
        *self = RawEvent::default();
        self.read_with_serde(json, position)
    }

    fn read_with_serde(&mut self, json: &'a str, position: Position) -> Result<(), EventError> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        de::DeserializeSeed::deserialize(RawEventSeed(self), &mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|error| EventError::malformed(position, json_error_message(&error)))
    }

    /// Records the value of the field in `slot`; the last of a repeated
    /// field's values stays, and the field is named as repeated.
    fn set_field(&mut self, slot: usize, value: RawValue<'a>) {
        if self.fields[slot].replace(value).is_some() {
            self.repeated_field.get_or_insert(FIELDS[slot]);
        }
    }

    /// Records the field `key` with its value, as the serde reader would.
    fn set(&mut self, key: &str, value: RawValue<'a>) {
        match field_slot(key) {
            Some(slot) => self.set_field(slot, value),
            None => {
                self.unknown_field.get_or_insert_with(|| key.to_owned());
            }
        }
    }

    /// Whether `field` was given a value other than `null`.
    fn is_present(&self, field: &str) -> bool {
        matches!(
            self.fields[Fields::slot(field)],
            Some(ref value) if !matches!(value, RawValue::Null)
        )
    }

    /// Validates the fields read, taking them out.
    fn take_event(
        &mut self,
        position: Position,
        received_at: Timestamp,
    ) -> Result<Event, EventError> {
        if let Some(field) = self.unknown_field.take() {
            return Err(EventError::new(
                position,
                Some(&field),
                "is not a field of any event type",
            ));
        }
        if let Some(field) = self.repeated_field {
            return Err(EventError::new(
                position,
                Some(field),
                "appears more than once",
            ));
        }
        let mut fields = Fields {
            raw: self,
            position,
        };

        let id = fields.required("id", EventId::parse)?;
        let type_name = fields.required_str("type")?;
        let occurred_at = match fields.optional_str("occurred_at")? {
            None => received_at,
            Some(text) => {
                let at = Timestamp::parse(&text).map_err(|error| match error {
                    TimestampError::Malformed => fields.error("occurred_at", error.to_string()),
                    TimestampError::BeforeEpoch => fields.error("occurred_at", error.to_string()),
                })?;
                if at > received_at.saturating_add_seconds(MAX_CLOCK_SKEW_SECONDS) {
                    return Err(fields.error(
                        "occurred_at",
                        format!(
                            "is more than 5 minutes in the future (server time is {received_at})"
                        ),
                    ));
                }
                at
            }
        };

        let kind = match type_name.as_ref() {
            "member_upserted" => EventKind::MemberUpserted {
                email: fields.email("email")?,
                username: fields.optional("username", Username::parse)?,
                name: fields.optional("name", Name::parse)?,
            },
            "member_removed" => EventKind::MemberRemoved {
                email: fields.email("email")?,
            },
            "space_upserted" => EventKind::SpaceUpserted {
                space_token: fields.token("space_token")?,
                name: fields.required("name", Name::parse)?,
                description: fields.optional("description", Description::parse)?,
                space_type: match fields.optional_str("space_type")? {
                    None => SpaceType::Custom,
                    Some(text) => SpaceType::parse(&text).ok_or_else(|| {
                        fields.error(
                            "space_type",
                            "must be one of `custom`, `community`, `private`",
                        )
                    })?,
                },
            },
            "space_deleted" => EventKind::SpaceDeleted {
                space_token: fields.token("space_token")?,
            },
            "report_created" => EventKind::ReportCreated {
                report_id: fields.report_id()?,
                report_token: fields.token("report_token")?,
                space_token: fields.token("space_token")?,
                email: fields.email("email")?,
                name: fields.required("name", Name::parse)?,
                description: fields.optional("description", Description::parse)?,
            },
            "report_edited" => EventKind::ReportEdited {
                report_id: fields.report_id()?,
                email: fields.email("email")?,
                name: fields.optional("name", Name::parse)?,
                description: fields.optional("description", Description::parse)?,
            },
            "report_moved" => EventKind::ReportMoved {
                report_id: fields.report_id()?,
                space_token: fields.token("space_token")?,
            },
            "report_deleted" => EventKind::ReportDeleted {
                report_id: fields.report_id()?,
            },
            "report_viewed" => EventKind::ReportViewed {
                report_id: fields.report_id()?,
                email: fields.optional("email", Email::parse)?,
            },
            "report_run" => {
                let report_id = fields.report_id()?;
                let run_token = fields.token("run_token")?;
                let trigger = match fields.required_str("trigger")?.as_ref() {
                    "manual" => {
                        if fields.take("schedule_token").is_some() {
                            return Err(fields.error(
                                "schedule_token",
                                "is only allowed when `trigger` is `scheduled`",
                            ));
                        }
                        RunTrigger::Manual {
                            email: fields.email("email")?,
                        }
                    }
                    "scheduled" => {
                        if fields.take("email").is_some() {
                            return Err(
                                fields.error("email", "is only allowed when `trigger` is `manual`")
                            );
                        }
                        RunTrigger::Scheduled {
                            schedule_token: fields.token("schedule_token")?,
                        }
                    }
                    _ => return Err(fields.error("trigger", "must be `manual` or `scheduled`")),
                };
                let state = match fields.optional_str("state")? {
                    None => RunState::Succeeded,
                    Some(text) => RunState::parse(&text).ok_or_else(|| {
                        fields.error("state", "must be one of `succeeded`, `failed`, `cancelled`")
                    })?,
                };
                EventKind::ReportRun {
                    report_id,
                    run_token,
                    trigger,
                    state,
                }
            }
            "schedule_created" => EventKind::ScheduleCreated {
                schedule_token: fields.token("schedule_token")?,
                report_id: fields.report_id()?,
                email: fields.email("email")?,
            },
            "schedule_paused" => EventKind::SchedulePaused {
                schedule_token: fields.token("schedule_token")?,
            },
            "schedule_resumed" => EventKind::ScheduleResumed {
                schedule_token: fields.token("schedule_token")?,
            },
            "schedule_deleted" => EventKind::ScheduleDeleted {
                schedule_token: fields.token("schedule_token")?,
            },
            "exploration_created" => EventKind::ExplorationCreated {
                exploration_token: fields.token("exploration_token")?,
                report_id: fields.report_id()?,
                email: fields.email("email")?,
            },
            "exploration_deleted" => EventKind::ExplorationDeleted {
                exploration_token: fields.token("exploration_token")?,
            },
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(fields.error("type", format!("`{shown}` is not an event type")));
            }
        };

        if let Some(field) = fields.leftover() {
            return Err(fields.error(
                field,
                format!("is not a field of `{}` events", kind.type_name()),
            ));
        }
        Ok(Event {
            id,
            occurred_at,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_own_slot() {
        for (slot, field) in FIELDS.iter().enumerate() {
            assert_eq!(field_slot(field), Some(slot), "{field}");
        }
        assert_eq!(field_slot("ID"), None);
        assert_eq!(field_slot(""), None);
    }

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
