//! An event object as read, before validation: each known field's JSON
//! value in its slot, filled by [`flat_json`] or by serde_json
//! through a `DeserializeSeed` that borrows strings from the input.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::{EventError, Position};
use super::flat_json;

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
pub(super) const FIELDS: [&str; 22] = [
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
    "query_token",
    "raw_query",
    "data_source_token",
    "chart_token",
    "chart_type",
    "chart_title",
];

/// The slot in [`FIELDS`] of the field named `key`. A `match` on the name
/// instead of a search of the list: it runs for every field of every event.
pub(super) fn field_slot(key: &str) -> Option<usize> {
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
        "query_token" => 16,
        "raw_query" => 17,
        "data_source_token" => 18,
        "chart_token" => 19,
        "chart_type" => 20,
        "chart_title" => 21,
        _ => return None,
    })
}

/// A JSON value as far as validation needs to know it.
#[derive(Debug)]
pub(super) enum RawValue<'a> {
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
    pub(super) fn kind(&self) -> &'static str {
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
            fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
                // JSON has one number type: `7.0` and `0.7e1` are the
                // integer 7, as JSON Schema's `integer` and JavaScript have
                // it. Past 2^53 a float no longer says which integer it is.
                const EXACT: f64 = (1u64 << 53) as f64;
                Ok(if value.fract() == 0.0 && value.abs() <= EXACT {
                    RawValue::Integer(value as i64)
                } else {
                    RawValue::OtherNumber
                })
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
/// It is large (a value for each of the [`FIELDS`]), so it is filled and
/// read where it lies ([`RawEvent::read`], [`RawEvent::take_event`]):
/// returned by value, it was copied several times per event, at a cost
/// BENCHMARKS.md records ("What reading an event and checking its id cost").
#[derive(Debug, Default)]
pub(crate) struct RawEvent<'a> {
    pub(super) fields: [Option<RawValue<'a>>; FIELDS.len()],
    pub(super) unknown_field: Option<String>,
    pub(super) repeated_field: Option<&'static str>,
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

impl<'a> RawEvent<'a> {
    /// Fills an empty `RawEvent` from the object `json`: by the fast reader
    /// of [`flat_json`] if it can, otherwise by serde_json.
    pub(super) fn read(&mut self, json: &'a str, position: Position) -> Result<(), EventError> {
        if flat_json::read(json, self).is_some() {
            return Ok(());
        }
        *self = RawEvent::default();
        self.read_with_serde(json, position)
    }

    pub(crate) fn read_with_serde(
        &mut self,
        json: &'a str,
        position: Position,
    ) -> Result<(), EventError> {
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
    ///
    /// `#[inline]`: [`flat_json`] calls it for every field of every line, from
    /// another module; without the hint the call stayed out of line there and
    /// an import ran measurably more instructions (under callgrind).
    #[inline]
    pub(super) fn set(&mut self, key: &str, value: RawValue<'a>) {
        match field_slot(key) {
            Some(slot) => self.set_field(slot, value),
            None => {
                self.unknown_field.get_or_insert_with(|| key.to_owned());
            }
        }
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
}
