//! A reader for the shape nearly every event line has: one flat JSON object
//! whose values are strings without escapes, non-negative integers of up to
//! 18 digits, `null`, `true` or `false`.
//!
//! serde_json's generic walk of a line is a large share of an import's
//! instructions, and this reader needs fewer for the same lines (what it
//! saves is in BENCHMARKS.md, "What reading an event and checking its id
//! cost"). It accepts only input it reads exactly as serde_json would, and
//! gives up on anything else (an escape, a fraction, a nested value, a
//! syntax error): [`RawEvent::read`](super::raw_event::RawEvent::read) then reads the
//! line with serde_json, whose messages name what is wrong. A property test
//! below checks that the two agree wherever this one answers.

use std::borrow::Cow;

use super::raw_event::{RawEvent, RawValue};

/// Fills the empty `raw` from `json` if `json` has the flat shape. `None`
/// if it has not; `raw` may then hold some of its fields.
pub(crate) fn read<'a>(json: &'a str, raw: &mut RawEvent<'a>) -> Option<()> {
    let mut reader = Reader { json, at: 0 };
    reader.skip_whitespace();
    reader.eat(b'{')?;
    reader.skip_whitespace();
    if reader.eat(b'}').is_none() {
        loop {
            let key = reader.string()?;
            reader.skip_whitespace();
            reader.eat(b':')?;
            reader.skip_whitespace();
            raw.set(key, reader.value()?);
            reader.skip_whitespace();
            if reader.eat(b',').is_some() {
                reader.skip_whitespace();
            } else {
                reader.eat(b'}')?;
                break;
            }
        }
    }
    reader.skip_whitespace();
    (reader.at == json.len()).then_some(())
}

struct Reader<'a> {
    json: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.json.as_bytes().get(self.at).copied()
    }

    /// Steps over `byte` if it is next.
    fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek() != Some(byte) {
            return None;
        }
        self.at += 1;
        Some(())
    }

    /// JSON's whitespace, which is ASCII's four.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A string without escapes or control characters (which JSON forbids
    /// unescaped), borrowed from the input.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let rest = &self.json.as_bytes()[self.at..];
        let end = string_end(rest)?;
        if rest[end] != b'"' {
            return None;
        }
        // Both ends are ASCII, so char boundaries.
        let text = &self.json[self.at..self.at + end];
        self.at += end + 1;
        Some(text)
    }

    fn value(&mut self) -> Option<RawValue<'a>> {
        match self.peek()? {
            b'"' => self
                .string()
                .map(|text| RawValue::String(Cow::Borrowed(text))),
            b'0'..=b'9' => self.integer(),
            b'n' => self.literal("null", RawValue::Null),
            b't' => self.literal("true", RawValue::Bool),
            b'f' => self.literal("false", RawValue::Bool),
            // Negative numbers too: serde_json reads `-0` as a float.
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: RawValue<'a>) -> Option<RawValue<'a>> {
        if !self.json[self.at..].starts_with(word) {
            return None;
        }
        self.at += word.len();
        Some(value)
    }

    /// Digits without a leading zero, a fraction or an exponent; 18 of them
    /// always fit an `i64`.
    fn integer(&mut self) -> Option<RawValue<'a>> {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = &self.json.as_bytes()[start..self.at];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if leading_zero || digits.len() > 18 || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = digits
            .iter()
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
        Some(RawValue::Integer(value))
    }
}

/// Where the text of a string ends: the first quote, backslash or control
/// character in `bytes`. Eight bytes are looked at at once, as serde_json
/// does: a byte matches where `x - 0x01` (for `< 0x20`: `x - 0x20`)
/// borrows into its top bit while `x`'s own top bit is clear. A borrow
/// only carries upwards from a byte that matched, so the lowest flagged
/// byte is the first match.
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let below = |word: u64, bound: u8| word.wrapping_sub(ONES * u64::from(bound)) & !word & TOPS;
    let mut at = 0;
    while let Some(eight) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(eight.try_into().unwrap_or_default());
        let quote = below(word ^ (ONES * u64::from(b'"')), 1);
        let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
        let found = quote | backslash | below(word, 0x20);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|byte| matches!(byte, b'"' | b'\\' | 0..=0x1f))
        .map(|offset| at + offset)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::Position;

    /// What serde_json reads from `json`, or `None` if it refuses it.
    fn by_serde(json: &str) -> Option<String> {
        let mut raw = RawEvent::default();
        raw.read_with_serde(json, Position::Line(1))
            .ok()
            .map(|()| format!("{raw:?}"))
    }

    fn by_flat(json: &str) -> Option<String> {
        let mut raw = RawEvent::default();
        read(json, &mut raw).map(|()| format!("{raw:?}"))
    }

    #[test]
    fn reads_the_common_lines_and_leaves_the_rest_to_serde() {
        for json in [
            r#"{"id":"e1","type":"report_viewed","occurred_at":"2026-11-01T00:00:00.000Z","report_id":17,"email":"ann@acme.com"}"#,
            r#" { "id" : "e1" , "name" : null , "x" : true , "y" : false , "report_id" : 0 } "#,
            r#"{"id":"é ü","id":"twice","unknown":"u","other":"o"}"#,
            "{}",
        ] {
            assert!(by_flat(json).is_some(), "{json}");
            assert_eq!(by_flat(json), by_serde(json), "{json}");
        }
        for json in [
            r#"{"id":"a\"b"}"#,
            r#"{"report_id":1.0}"#,
            r#"{"report_id":1e3}"#,
            r#"{"report_id":-1}"#,
            r#"{"report_id":01}"#,
            r#"{"report_id":1234567890123456789}"#,
            r#"{"x":[1]}"#,
            r#"{"x":{}}"#,
            "{\"id\":\"tab\there\"}",
            r#"{"id":"e1"} trailing"#,
            r#"{"id":"e1",}"#,
            r#"{"id" "e1"}"#,
            r#"{"id":nul}"#,
            "[]",
            "",
        ] {
            assert_eq!(by_flat(json), None, "{json}");
        }
    }

    /// Pieces of event-like JSON, valid and not, for the property below.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("[1, 2]".to_owned()),
            Just("{\"a\": 1}".to_owned()),
            Just("\"report_id\"".to_owned()),
            Just("\"id\"".to_owned()),
            Just("\"name\"".to_owned()),
            Just("\"unknown\"".to_owned()),
            "-?[0-9]{1,21}(\\.[0-9]{1,2})?([eE][+-]?[0-9])?",
            "\"[a-zé \\\\\"\t\u{1}/]{0,6}\"",
        ]
    }

    /// A field's key: mostly a name, now and then any piece.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec!["\"id\"", "\"report_id\"", "\"name\"", "\"unknown\""])
                .prop_map(str::to_owned),
            1 => piece(),
        ]
    }

    /// A field's value: mostly one this reader takes, now and then any piece.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop_oneof![
                "[0-9]{1,19}",
                "\"[a-z0-9é. @-]{0,8}\"",
                Just("null".to_owned()),
                Just("true".to_owned()),
            ],
            1 => piece(),
        ]
    }

    /// A line that is an object of fields, often, with a piece out of place
    /// now and then.
    fn line() -> impl Strategy<Value = String> {
        let field = (key(), " ?", value(), " ?")
            .prop_map(|(key, space, value, after)| format!("{key}{space}:{value}{after}"));
        (
            prop::collection::vec(field, 0..6),
            prop::collection::vec((0..60usize, piece()), 0..2),
        )
            .prop_map(|(fields, insertions)| {
                let mut line = format!("{{{}}}", fields.join(","));
                for (at, extra) in insertions {
                    let mut at = at.min(line.len());
                    while !line.is_char_boundary(at) {
                        at -= 1;
                    }
                    line.insert_str(at, &extra);
                }
                line
            })
    }

    #[test]
    fn a_string_ends_at_its_first_quote_backslash_or_control_character() {
        for (text, end) in [
            ("abc\"", Some(3)),
            ("0123456789abcdef\"", Some(16)),
            ("01234567\\89", Some(8)),
            ("é€😀 0123456\u{1f}\"", Some(17)),
            ("\u{7f}\u{80}abcdefgh\t", Some(11)),
            ("no end at all", None),
            ("", None),
        ] {
            assert_eq!(string_end(text.as_bytes()), end, "{text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn finds_the_end_a_byte_at_a_time_would(text in "[ -~\t\u{1}é€😀]{0,40}") {
            let bytes = text.as_bytes();
            let expected = bytes.iter().position(|byte| matches!(byte, b'"' | b'\\' | 0..=0x1f));
            prop_assert_eq!(string_end(bytes), expected);
        }

        #[test]
        fn agrees_with_serde_wherever_it_answers(json in line()) {
            if let Some(flat) = by_flat(&json) {
                prop_assert_eq!(Some(flat), by_serde(&json));
            }
        }
    }
}
