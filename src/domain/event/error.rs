//! Where a rejected event sits in its batch, and why it was rejected.

use std::fmt;

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
    pub(super) fn new(position: Position, field: Option<&str>, message: impl Into<String>) -> Self {
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
