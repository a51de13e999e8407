//! A request body (JSON array or NDJSON) into events, all or nothing.

use serde_json::value::RawValue;

use crate::domain::{Event, EventError, Position, Timestamp};

/// At most this many rejected events are described in one answer; the count
/// of all of them is given beside.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Why a batch was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    #[error("the body is not a valid JSON array of events: {0}")]
    MalformedArray(String),
    #[error("the batch holds {count} events; at most {limit} are accepted in one batch")]
    TooManyEvents { count: usize, limit: usize },
    #[error("{} of the batch's events were rejected; nothing was stored", .rejected)]
    Rejected {
        /// The first [`MAX_REPORTED_ERRORS`] rejections, in batch order.
        errors: Vec<EventError>,
        rejected: usize,
    },
}

/// Collects rejections, keeping the first [`MAX_REPORTED_ERRORS`].
#[derive(Debug, Default)]
pub struct Rejections {
    pub errors: Vec<EventError>,
    pub count: usize,
}

impl Rejections {
    pub fn push(&mut self, error: EventError) {
        self.count += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn into_result<T>(self, value: T) -> Result<T, BatchError> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(BatchError::Rejected {
                errors: self.errors,
                rejected: self.count,
            })
        }
    }
}

/// Parses a batch: a JSON array if the first non-blank character is `[`,
/// NDJSON otherwise (one event per line, blank lines ignored). Whatever the
/// `Content-Type` said, the body's shape decides, so a client that labels
/// NDJSON as `application/json` still gets through.
pub fn parse_batch(
    body: &[u8],
    received_at: Timestamp,
    max_events: usize,
) -> Result<Vec<Event>, BatchError> {
    let text = std::str::from_utf8(body).map_err(|_| BatchError::NotUtf8)?;
    if text.trim_start().starts_with('[') {
        parse_array(text, received_at, max_events)
    } else {
        parse_ndjson(text, received_at, max_events)
    }
}

fn parse_array(
    text: &str,
    received_at: Timestamp,
    max_events: usize,
) -> Result<Vec<Event>, BatchError> {
    let items: Vec<&RawValue> = serde_json::from_str(text)
        .map_err(|error| BatchError::MalformedArray(error.to_string()))?;
    if items.len() > max_events {
        return Err(BatchError::TooManyEvents {
            count: items.len(),
            limit: max_events,
        });
    }
    let mut events = Vec::with_capacity(items.len());
    let mut rejections = Rejections::default();
    for (index, item) in items.iter().enumerate() {
        match Event::parse(item.get(), Position::Index(index), received_at) {
            Ok(event) => events.push(event),
            Err(error) => rejections.push(error),
        }
    }
    rejections.into_result(events)
}

fn parse_ndjson(
    text: &str,
    received_at: Timestamp,
    max_events: usize,
) -> Result<Vec<Event>, BatchError> {
    let lines = text
        .split('\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty());
    let count = lines.clone().count();
    if count > max_events {
        return Err(BatchError::TooManyEvents {
            count,
            limit: max_events,
        });
    }
    let mut events = Vec::with_capacity(count);
    let mut rejections = Rejections::default();
    for (line_number, line) in lines {
        match Event::parse(line, Position::Line(line_number), received_at) {
            Ok(event) => events.push(event),
            Err(error) => rejections.push(error),
        }
    }
    rejections.into_result(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap()
    }

    const VIEW: &str = r#"{"id":"v1","type":"report_viewed","report_id":1}"#;

    #[test]
    fn an_array_and_ndjson_with_blank_lines_give_the_same_events() {
        let array = format!("[{VIEW}, {}]", VIEW.replace("v1", "v2"));
        let ndjson = format!("\n{VIEW}\r\n\n   \n{}\n", VIEW.replace("v1", "v2"));
        let from_array = parse_batch(array.as_bytes(), now(), 10).unwrap();
        let from_ndjson = parse_batch(ndjson.as_bytes(), now(), 10).unwrap();
        assert_eq!(from_array.len(), 2);
        assert_eq!(from_array, from_ndjson);
    }

    #[test]
    fn rejections_carry_array_indexes_and_ndjson_line_numbers() {
        let bad = r#"{"id":"b","type":"report_viewed"}"#;
        let Err(BatchError::Rejected { errors, rejected }) =
            parse_batch(format!("[{VIEW},{bad}]").as_bytes(), now(), 10)
        else {
            panic!("expected a rejection");
        };
        assert_eq!(rejected, 1);
        assert_eq!(errors[0].position, Position::Index(1));

        let Err(BatchError::Rejected { errors, .. }) =
            parse_batch(format!("{VIEW}\n\n{bad}\n").as_bytes(), now(), 10)
        else {
            panic!("expected a rejection");
        };
        assert_eq!(errors[0].position, Position::Line(3));
        assert_eq!(errors[0].field.as_deref(), Some("report_id"));
    }

    #[test]
    fn only_the_first_hundred_rejections_are_described() {
        let body = "{}\n".repeat(250);
        let Err(BatchError::Rejected { errors, rejected }) =
            parse_batch(body.as_bytes(), now(), 1000)
        else {
            panic!("expected a rejection");
        };
        assert_eq!(rejected, 250);
        assert_eq!(errors.len(), MAX_REPORTED_ERRORS);
    }

    #[test]
    fn batches_over_the_event_limit_are_refused_before_parsing_events() {
        let body = format!("{VIEW}\n").repeat(11);
        assert!(matches!(
            parse_batch(body.as_bytes(), now(), 10),
            Err(BatchError::TooManyEvents {
                count: 11,
                limit: 10
            })
        ));
    }

    #[test]
    fn a_broken_array_and_non_utf8_are_refused_whole() {
        assert!(matches!(
            parse_batch(b"[{\"id\":", now(), 10),
            Err(BatchError::MalformedArray(_))
        ));
        assert!(matches!(
            parse_batch(&[0xff, 0xfe], now(), 10),
            Err(BatchError::NotUtf8)
        ));
    }

    #[test]
    fn an_empty_body_is_an_empty_batch() {
        assert!(parse_batch(b"", now(), 10).unwrap().is_empty());
        assert!(parse_batch(b"[]", now(), 10).unwrap().is_empty());
    }
}
