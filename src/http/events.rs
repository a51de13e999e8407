//! `POST /api/{workspace}/events`: a batch in, all or nothing; and the
//! schema of an event, as the OpenAPI document shows it.

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use serde_json::json;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr, Required};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{AdminAccess, too_many_requests};
use super::error::{ApiError, ErrorBody};
use super::extract::Body;
use crate::domain::names::{
    ChartType, Description, Email, EventId, Name, ReportId, Token, Username,
};
use crate::ingest::parse_batch;
use crate::storage::{self, EventChunk, IngestSummary};

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new().routes(routes!(create_events));
    // An empty body is an empty batch. `#[utoipa::path]` says a body is
    // optional only for an `Option`, which would also let it be `null`.
    let operation = router
        .get_openapi_mut()
        .paths
        .paths
        .get_mut("/api/{workspace}/events")
        .and_then(|path| path.post.as_mut());
    if let Some(body) = operation.and_then(|operation| operation.request_body.as_mut()) {
        body.required = Some(Required::False);
    }
    router
}

/// Bodies up to this size are parsed on the thread that received them.
const PARSE_IN_PLACE_BYTES: usize = 16 * 1024;

/// Store a batch of events: a JSON array, or NDJSON (one event per line).
/// All or nothing; events already stored (same `id`) are acknowledged as
/// duplicates and change nothing.
#[utoipa::path(
    post,
    path = "/api/{workspace}/events",
    tag = "events",
    params(("workspace" = String, Path, description = "The workspace's username")),
    request_body(
        description = "Events (SPEC section 3) as a JSON array, or as NDJSON: the same events \
            one per line, blank lines ignored. The body's first non-blank character decides \
            (`[`: an array), whatever the `Content-Type`. An empty body is an empty batch. The \
            body may be sent with `Content-Encoding: gzip` or `zstd`; the body limit counts \
            decoded bytes.",
        content(
            (Vec<EventSchema> = "application/json"),
            (Vec<EventSchema> = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 200, description = "Stored", body = IngestSummary),
        (status = 400, description = "Rejected events (nothing stored)", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 413, description = "Body or batch over the limit", body = ErrorBody),
        (status = 415, description = "A `Content-Encoding` other than gzip or zstd", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("workspace_api_key" = []))
)]
async fn create_events(
    State(state): State<AppState>,
    access: AdminAccess,
    Body(body): Body,
) -> Result<Json<IngestSummary>, ApiError> {
    let received_at = state.clock.now();
    let max_events = state.settings.max_batch_events;
    let body_len = body.len();
    let parse = move || parse_batch(&body, received_at, max_events).map(EventChunk::new);
    // Parsing and serialising a large batch take milliseconds: keep them
    // off the threads that serve other requests. A small one takes
    // microseconds, less than handing it to another thread and back.
    let chunk = if body_len <= PARSE_IN_PLACE_BYTES {
        parse()?
    } else {
        tokio::task::spawn_blocking(parse)
            .await
            .map_err(|error| ApiError::Internal(error.into()))??
    };
    let events = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
    state
        .event_rate_limiter
        .take(access.token.as_str(), events)
        .map_err(too_many_requests)?;
    let summary = storage::ingest_chunk(state.store.as_ref(), access.workspace.id, chunk).await?;
    state
        .windows
        .after_batch(access.workspace.id, state.clock.now().utc_day());
    tracing::info!(
        workspace = %access.workspace.name,
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        "stored a batch"
    );
    Ok(Json(summary))
}

/// An event as the OpenAPI document shows it: one object per event type
/// (two for `report_run`, one per trigger) holding exactly the fields that
/// type takes, with the limits `domain::names` sets. Like the parser
/// (`domain::event::validation`), it takes `null` for an optional field as
/// the field left out. What no schema can say is in the descriptions:
/// `occurred_at` must not be more than 5 minutes after the server's clock,
/// and an `id` may appear once per workspace (again, it is a duplicate).
pub struct EventSchema;

impl utoipa::ToSchema for EventSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Event")
    }
}

impl utoipa::PartialSchema for EventSchema {
    fn schema() -> RefOr<Schema> {
        let mut one_of = OneOfBuilder::new().description(Some(
            "One activity event (SPEC section 3); `type` says which, and which fields it takes.",
        ));
        for event_type in EVENT_TYPES {
            one_of = one_of.item(event_type.schema());
        }
        Schema::OneOf(one_of.build()).into()
    }
}

/// The fields of one event type besides `id`, `type` and `occurred_at`, as
/// `domain::event::validation` reads them.
struct EventType {
    name: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
    /// A field that must hold this one value (`report_run`'s `trigger`).
    fixed: Option<(&'static str, &'static str)>,
    /// Fields that may only be `null` (or absent): those of the other trigger.
    null_only: &'static [&'static str],
}

const fn event_type(
    name: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
) -> EventType {
    EventType {
        name,
        required,
        optional,
        fixed: None,
        null_only: &[],
    }
}

const EVENT_TYPES: &[EventType] = &[
    event_type("member_upserted", &["email"], &["username", "name"]),
    event_type("member_removed", &["email"], &[]),
    event_type(
        "space_upserted",
        &["space_token", "name"],
        &["description", "space_type"],
    ),
    event_type("space_deleted", &["space_token"], &[]),
    event_type(
        "report_created",
        &["report_id", "report_token", "space_token", "email", "name"],
        &["description"],
    ),
    event_type(
        "report_edited",
        &["report_id", "email"],
        &["name", "description"],
    ),
    event_type("report_moved", &["report_id", "space_token"], &[]),
    event_type("report_deleted", &["report_id"], &[]),
    event_type("report_viewed", &["report_id"], &["email"]),
    EventType {
        fixed: Some(("trigger", "manual")),
        null_only: &["schedule_token"],
        ..event_type(
            "report_run",
            &["report_id", "run_token", "email"],
            &["state"],
        )
    },
    EventType {
        fixed: Some(("trigger", "scheduled")),
        null_only: &["email"],
        ..event_type(
            "report_run",
            &["report_id", "run_token", "schedule_token"],
            &["state"],
        )
    },
    event_type(
        "schedule_created",
        &["schedule_token", "report_id", "email"],
        &[],
    ),
    event_type("schedule_paused", &["schedule_token"], &[]),
    event_type("schedule_resumed", &["schedule_token"], &[]),
    event_type("schedule_deleted", &["schedule_token"], &[]),
    event_type(
        "exploration_created",
        &["exploration_token", "report_id", "email"],
        &[],
    ),
    event_type("exploration_deleted", &["exploration_token"], &[]),
    event_type(
        "query_created",
        &[
            "query_token",
            "report_id",
            "name",
            "raw_query",
            "data_source_token",
            "email",
        ],
        &[],
    ),
    event_type(
        "query_edited",
        &["query_token", "email"],
        &["name", "raw_query", "data_source_token"],
    ),
    event_type("query_deleted", &["query_token"], &[]),
    event_type(
        "chart_created",
        &["chart_token", "query_token", "chart_type", "email"],
        &["chart_title"],
    ),
    event_type(
        "chart_edited",
        &["chart_token", "email"],
        &["chart_type", "chart_title"],
    ),
    event_type("chart_deleted", &["chart_token"], &[]),
];

/// Unicode's control characters (`char::is_control`), which ids, tokens,
/// names and usernames must not hold, as the inside of a regular
/// expression's `[...]`.
pub(super) const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// Unicode's white space (`char::is_whitespace`, what `str::trim` removes),
/// likewise. An email holds neither.
pub(super) const WHITE_SPACE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

impl EventType {
    fn schema(&self) -> Schema {
        let (title, trigger) = match self.fixed {
            Some((_, value)) => (format!("{} ({value})", self.name), Some(value)),
            None => (self.name.to_owned(), None),
        };
        let mut object = ObjectBuilder::new()
            .title(Some(title))
            .property("id", field_schema("id", false))
            .required("id")
            .property("type", one_value(self.name))
            .required("type")
            .property("occurred_at", field_schema("occurred_at", true));
        for field in self.required {
            object = object
                .property(*field, field_schema(field, false))
                .required(*field);
        }
        for field in self.optional {
            object = object.property(*field, field_schema(field, true));
        }
        if let (Some((field, _)), Some(value)) = (self.fixed, trigger) {
            object = object.property(field, one_value(value)).required(field);
        }
        for field in self.null_only {
            object = object.property(*field, ObjectBuilder::new().schema_type(Type::Null));
        }
        object
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ))
            .into()
    }
}

fn one_value(value: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([value]))
}

/// A string of 1 to `max` characters without control characters.
pub(super) fn bounded(max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!("^[^{CONTROL}]*$")))
}

/// The schema of the field `name`; `nullable` for an optional one.
fn field_schema(name: &str, nullable: bool) -> ObjectBuilder {
    let (schema, values): (ObjectBuilder, Option<&[&str]>) = match name {
        "id" => (bounded(EventId::MAX_CHARS), None),
        "name" | "chart_title" => (bounded(Name::MAX_CHARS), None),
        "chart_type" => (bounded(ChartType::MAX_CHARS), None),
        "raw_query" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("SQL text, at most 256 KiB (262,144 bytes of UTF-8)"))
                .pattern(Some(r"^[^\u0000]*$".to_owned())),
            None,
        ),
        "username" => (bounded(Username::MAX_CHARS), None),
        "email" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(Email::MAX_CHARS))
                .pattern(Some(format!(
                    "^[^@{CONTROL}{WHITE_SPACE}]+@[^@{CONTROL}{WHITE_SPACE}]+$"
                )))
                .description(Some("Compared case-insensitively; shown lowercased")),
            None,
        ),
        "description" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(Description::MAX_CHARS))
                // Any text but NUL, which no string of an event may hold.
                .pattern(Some(r"^[^\u0000]*$".to_owned())),
            None,
        ),
        "report_id" => (
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(ReportId::MAX)),
            None,
        ),
        "occurred_at" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some(
                    "RFC 3339, from 1970 to 5 minutes after the server's clock; absent or \
                     `null`: when the server received it",
                )),
            None,
        ),
        "space_type" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "Default `custom`; `private` is a member's personal space",
                )),
            Some(&["custom", "community", "private"]),
        ),
        "state" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Default `succeeded`")),
            Some(&["succeeded", "failed", "cancelled"]),
        ),
        // Every other field is a token.
        _ => (bounded(Token::MAX_CHARS), None),
    };
    match (nullable, values) {
        (false, None) => schema,
        (false, Some(values)) => schema.enum_values(Some(values.iter().copied())),
        (true, None) => schema.schema_type(nullable_type(name)),
        (true, Some(values)) => schema.schema_type(nullable_type(name)).enum_values(Some(
            values.iter().map(|value| json!(value)).chain([json!(null)]),
        )),
    }
}

fn nullable_type(name: &str) -> utoipa::openapi::schema::SchemaType {
    let base = if name == "report_id" {
        Type::Integer
    } else {
        Type::String
    };
    [base, Type::Null].into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Event, Position, Timestamp};

    /// A value the parser takes for `field`.
    fn sample(field: &str) -> serde_json::Value {
        match field {
            "report_id" => json!(7),
            "email" => json!("ann@example.com"),
            "space_type" => json!("private"),
            "state" => json!("failed"),
            _ => json!("x1"),
        }
    }

    fn event(event_type: &EventType) -> serde_json::Map<String, serde_json::Value> {
        let mut event = serde_json::Map::new();
        event.insert("id".into(), json!("e1"));
        event.insert("type".into(), json!(event_type.name));
        for field in event_type.required.iter().chain(event_type.optional) {
            event.insert((*field).into(), sample(field));
        }
        if let Some((field, value)) = event_type.fixed {
            event.insert(field.into(), json!(value));
        }
        for field in event_type.null_only {
            event.insert((*field).into(), json!(null));
        }
        event
    }

    fn parses(event: &serde_json::Map<String, serde_json::Value>) -> bool {
        let text = serde_json::Value::Object(event.clone()).to_string();
        Event::parse(&text, Position::Line(1), Timestamp::EPOCH).is_ok()
    }

    #[test]
    fn every_event_the_schema_describes_is_one_the_parser_takes() {
        for event_type in EVENT_TYPES {
            let full = event(event_type);
            assert!(parses(&full), "{full:?}");
            for field in event_type.required {
                let mut without = full.clone();
                without.remove(*field);
                assert!(!parses(&without), "{} without {field}", event_type.name);
            }
            for field in event_type.optional {
                let mut null = full.clone();
                null.insert((*field).into(), json!(null));
                assert!(parses(&null), "{} with {field}: null", event_type.name);
            }
        }
    }

    #[test]
    fn a_field_the_schema_leaves_out_of_a_type_is_one_the_parser_refuses() {
        let every_field: std::collections::BTreeSet<&str> = EVENT_TYPES
            .iter()
            .flat_map(|event_type| {
                event_type
                    .required
                    .iter()
                    .chain(event_type.optional)
                    .chain(event_type.null_only)
                    .copied()
                    .chain(event_type.fixed.map(|(field, _)| field))
            })
            .collect();
        for event_type in EVENT_TYPES {
            let full = event(event_type);
            for field in &every_field {
                if full.contains_key(*field) {
                    continue;
                }
                let mut extra = full.clone();
                extra.insert((*field).into(), sample(field));
                assert!(!parses(&extra), "{} with {field}", event_type.name);
            }
        }
    }
}
