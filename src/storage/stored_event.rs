//! Events read back from the log.

use super::{StoreError, StoreResult};
use crate::domain::{Event, Timestamp};

/// An event read back from the log. It passed validation when it arrived;
/// only the clock check must not apply again.
///
/// One rule changed since: descriptions could hold NUL characters, which
/// are now refused (see [`crate::domain::names::Description`]). An event
/// stored before is read without them, with a warning, so that its log
/// can still be read and copied (`reportstats copy` into PostgreSQL, which
/// cannot store a NUL) instead of failing on it.
///
/// `which` names the event in the error only, so it is formatted only then:
/// walking a log parses every event, and naming each one cost an allocation.
pub fn parse_stored_event(which: impl std::fmt::Display, body: &str) -> StoreResult<Event> {
    let far_future = Timestamp::from_micros(i64::MAX / 2);
    let parse = |body: &str| Event::parse(body, crate::domain::Position::Line(1), far_future);
    let error = match parse(body) {
        Ok(event) => return Ok(event),
        Err(error) => error,
    };
    // JSON text holds a NUL only as this escape.
    if body.contains("\\u0000") {
        if let Some(event) = without_nul_characters(body).and_then(|body| parse(&body).ok()) {
            tracing::warn!(
                event = %event.id,
                "stored event {which} holds NUL characters, which events may no longer hold; read without them"
            );
            return Ok(event);
        }
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "stored event {which} does not parse: {error}"
    )))
}

/// `json` with every NUL character taken out of its strings, or `None` if
/// it is not JSON.
fn without_nul_characters(json: &str) -> Option<String> {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => text.retain(|c| c != '\0'),
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(json).ok()?;
    strip(&mut value);
    Some(value.to_string())
}
