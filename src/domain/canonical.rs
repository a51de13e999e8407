//! The canonical JSON form of an event: what the event log keeps, and what
//! [`Event::parse`] reads back into the same event.
//!
//! Written by hand into one `String` because it runs once per event on the
//! import path, where building a `serde_json::Value` map first (a key
//! allocation and a tree insert per field) cost more than the parse itself
//! (BENCHMARKS.md, "What the previous session's changes bought").

use std::fmt::Write;

use super::event::{Event, EventKind, RunTrigger};

impl Event {
    /// The canonical JSON form of this event, as kept in the event log: the
    /// fields of SPEC section 3 with `occurred_at` always present, to the
    /// microsecond.
    ///
    /// ```
    /// use reportstats::domain::{Event, Position, Timestamp};
    ///
    /// let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    /// let line = r#"{"type":"report_viewed","id":"e\"1","report_id":7,"occurred_at":"2026-10-31T23:00:00.000001+00:00"}"#;
    /// let event = Event::parse(line, Position::Line(1), now).unwrap();
    /// assert_eq!(
    ///     event.to_json(),
    ///     r#"{"id":"e\"1","type":"report_viewed","occurred_at":"2026-10-31T23:00:00.000001Z","report_id":7}"#
    /// );
    /// assert_eq!(Event::parse(&event.to_json(), Position::Line(1), now).unwrap(), event);
    /// ```
    pub fn to_json(&self) -> String {
        let mut json = JsonObject::with_capacity(192);
        json.text("id", self.id.as_str());
        json.text("type", self.kind.type_name());
        json.key("occurred_at");
        json.out.push('"');
        self.occurred_at.write_exact(&mut json.out);
        json.out.push('"');
        match &self.kind {
            EventKind::MemberUpserted {
                email,
                username,
                name,
            } => {
                json.text("email", email.as_str());
                json.optional_text("username", username.as_ref().map(|u| u.as_str()));
                json.optional_text("name", name.as_ref().map(|n| n.as_str()));
            }
            EventKind::MemberRemoved { email } => json.text("email", email.as_str()),
            EventKind::SpaceUpserted {
                space_token,
                name,
                description,
                space_type,
            } => {
                json.text("space_token", space_token.as_str());
                json.text("name", name.as_str());
                json.optional_text("description", description.as_ref().map(|d| d.as_str()));
                json.text("space_type", space_type.as_str());
            }
            EventKind::SpaceDeleted { space_token } => {
                json.text("space_token", space_token.as_str())
            }
            EventKind::ReportCreated {
                report_id,
                report_token,
                space_token,
                email,
                name,
                description,
            } => {
                json.integer("report_id", report_id.get());
                json.text("report_token", report_token.as_str());
                json.text("space_token", space_token.as_str());
                json.text("email", email.as_str());
                json.text("name", name.as_str());
                json.optional_text("description", description.as_ref().map(|d| d.as_str()));
            }
            EventKind::ReportEdited {
                report_id,
                email,
                name,
                description,
            } => {
                json.integer("report_id", report_id.get());
                json.text("email", email.as_str());
                json.optional_text("name", name.as_ref().map(|n| n.as_str()));
                json.optional_text("description", description.as_ref().map(|d| d.as_str()));
            }
            EventKind::ReportMoved {
                report_id,
                space_token,
            } => {
                json.integer("report_id", report_id.get());
                json.text("space_token", space_token.as_str());
            }
            EventKind::ReportDeleted { report_id } => json.integer("report_id", report_id.get()),
            EventKind::ReportViewed { report_id, email } => {
                json.integer("report_id", report_id.get());
                json.optional_text("email", email.as_ref().map(|e| e.as_str()));
            }
            EventKind::ReportRun {
                report_id,
                run_token,
                trigger,
                state,
            } => {
                json.integer("report_id", report_id.get());
                json.text("run_token", run_token.as_str());
                match trigger {
                    RunTrigger::Manual { email } => {
                        json.text("trigger", "manual");
                        json.text("email", email.as_str());
                    }
                    RunTrigger::Scheduled { schedule_token } => {
                        json.text("trigger", "scheduled");
                        json.text("schedule_token", schedule_token.as_str());
                    }
                }
                json.text("state", state.as_str());
            }
            EventKind::ScheduleCreated {
                schedule_token,
                report_id,
                email,
            } => {
                json.text("schedule_token", schedule_token.as_str());
                json.integer("report_id", report_id.get());
                json.text("email", email.as_str());
            }
            EventKind::SchedulePaused { schedule_token }
            | EventKind::ScheduleResumed { schedule_token }
            | EventKind::ScheduleDeleted { schedule_token } => {
                json.text("schedule_token", schedule_token.as_str());
            }
            EventKind::ExplorationCreated {
                exploration_token,
                report_id,
                email,
            } => {
                json.text("exploration_token", exploration_token.as_str());
                json.integer("report_id", report_id.get());
                json.text("email", email.as_str());
            }
            EventKind::ExplorationDeleted { exploration_token } => {
                json.text("exploration_token", exploration_token.as_str());
            }
            EventKind::QueryCreated {
                query_token,
                report_id,
                name,
                raw_query,
                data_source_token,
                email,
            } => {
                json.text("query_token", query_token.as_str());
                json.integer("report_id", report_id.get());
                json.text("name", name.as_str());
                json.text("raw_query", raw_query.as_str());
                json.text("data_source_token", data_source_token.as_str());
                json.text("email", email.as_str());
            }
            EventKind::QueryEdited {
                query_token,
                email,
                name,
                raw_query,
                data_source_token,
            } => {
                json.text("query_token", query_token.as_str());
                json.text("email", email.as_str());
                json.optional_text("name", name.as_ref().map(|n| n.as_str()));
                json.optional_text("raw_query", raw_query.as_ref().map(|q| q.as_str()));
                json.optional_text(
                    "data_source_token",
                    data_source_token.as_ref().map(|t| t.as_str()),
                );
            }
            EventKind::QueryDeleted { query_token } => {
                json.text("query_token", query_token.as_str());
            }
            EventKind::ChartCreated {
                chart_token,
                query_token,
                chart_type,
                email,
                chart_title,
            } => {
                json.text("chart_token", chart_token.as_str());
                json.text("query_token", query_token.as_str());
                json.text("chart_type", chart_type.as_str());
                json.text("email", email.as_str());
                json.optional_text("chart_title", chart_title.as_ref().map(|t| t.as_str()));
            }
            EventKind::ChartEdited {
                chart_token,
                email,
                chart_type,
                chart_title,
            } => {
                json.text("chart_token", chart_token.as_str());
                json.text("email", email.as_str());
                json.optional_text("chart_type", chart_type.as_ref().map(|t| t.as_str()));
                json.optional_text("chart_title", chart_title.as_ref().map(|t| t.as_str()));
            }
            EventKind::ChartDeleted { chart_token } => {
                json.text("chart_token", chart_token.as_str());
            }
        }
        json.finish()
    }
}

/// A JSON object written field by field. Keys are the fixed field names of
/// SPEC section 3, which need no escaping.
struct JsonObject {
    out: String,
}

impl JsonObject {
    fn with_capacity(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push('{');
        JsonObject { out }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        write_json_string(&mut self.out, value);
    }

    fn optional_text(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(key, value);
        }
    }

    fn integer(&mut self, key: &str, value: i64) {
        self.key(key);
        // Writing to a String cannot fail.
        let _ = write!(self.out, "{value}");
    }

    fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// `value` as a JSON string literal (RFC 8259 section 7): quotes, backslashes
/// and control characters escaped, everything else as it is.
fn write_json_string(out: &mut String, value: &str) {
    out.push('"');
    let mut clean_from = 0;
    for (at, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[clean_from..at]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        clean_from = at + 1;
    }
    out.push_str(&value[clean_from..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_json(value: &str) -> String {
        let mut out = String::new();
        write_json_string(&mut out, value);
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for value in [
            "",
            "plain",
            "quote \" and backslash \\",
            "line\nbreak\ttab\rreturn \u{8}\u{c}",
            "\u{0} \u{1f} \u{7f} é 名前 🙂",
        ] {
            assert_eq!(as_json(value), serde_json::to_string(value).unwrap());
        }
    }
}
