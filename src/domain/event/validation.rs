//! Validation: the fields of a [`RawEvent`] checked against their event
//! type and turned into an [`Event`], with errors that name the field.

use std::borrow::Cow;

use crate::domain::names::{
    ChartType, Description, Email, EventId, Name, NameError, RawQuery, ReportId, Token, Username,
};
use crate::domain::timestamp::{Timestamp, TimestampError};

use super::error::{EventError, Position};
use super::kind::{EventKind, RunState, RunTrigger, SpaceType};
use super::raw_event::{FIELDS, RawEvent, RawValue, field_slot};
use super::{Event, MAX_CLOCK_SKEW_SECONDS};

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
    /// Whether `field` was given a value other than `null`.
    pub(super) fn is_present(&self, field: &str) -> bool {
        matches!(
            self.fields[Fields::slot(field)],
            Some(ref value) if !matches!(value, RawValue::Null)
        )
    }

    /// Validates the fields read, taking them out.
    pub(crate) fn take_event(
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
                    TimestampError::AfterYear9999 => fields.error("occurred_at", error.to_string()),
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
            "query_created" => EventKind::QueryCreated {
                query_token: fields.token("query_token")?,
                report_id: fields.report_id()?,
                name: fields.required("name", Name::parse)?,
                raw_query: fields.required("raw_query", RawQuery::parse)?,
                data_source_token: fields.token("data_source_token")?,
                email: fields.email("email")?,
            },
            "query_edited" => EventKind::QueryEdited {
                query_token: fields.token("query_token")?,
                email: fields.email("email")?,
                name: fields.optional("name", Name::parse)?,
                raw_query: fields.optional("raw_query", RawQuery::parse)?,
                data_source_token: fields.optional("data_source_token", Token::parse)?,
            },
            "query_deleted" => EventKind::QueryDeleted {
                query_token: fields.token("query_token")?,
            },
            "chart_created" => EventKind::ChartCreated {
                chart_token: fields.token("chart_token")?,
                query_token: fields.token("query_token")?,
                chart_type: fields.required("chart_type", ChartType::parse)?,
                email: fields.email("email")?,
                chart_title: fields.optional("chart_title", Name::parse)?,
            },
            "chart_edited" => EventKind::ChartEdited {
                chart_token: fields.token("chart_token")?,
                email: fields.email("email")?,
                chart_type: fields.optional("chart_type", ChartType::parse)?,
                chart_title: fields.optional("chart_title", Name::parse)?,
            },
            "chart_deleted" => EventKind::ChartDeleted {
                chart_token: fields.token("chart_token")?,
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
