//! Numbers and instants as people read them: `1,234`, "3 days ago",
//! `2025-05-31 14:02 UTC`.

use crate::domain::Timestamp;

/// A count with thousands separators.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// How long before `now` an instant was, in the largest whole unit:
/// "just now", "5 minutes ago", "yesterday", "3 days ago", "2 months ago".
pub fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = (now.as_micros() - at.as_micros()) / 1_000_000;
    if seconds < 0 {
        // Within the 5 minutes of clock skew events may carry.
        return "just now".to_owned();
    }
    let unit = |amount: i64, one: &str, many: &str| {
        if amount == 1 {
            format!("1 {one} ago")
        } else {
            format!("{} {many} ago", count(amount.unsigned_abs()))
        }
    };
    match seconds {
        0..60 => "just now".to_owned(),
        60..3_600 => unit(seconds / 60, "minute", "minutes"),
        3_600..86_400 => unit(seconds / 3_600, "hour", "hours"),
        86_400..172_800 => "yesterday".to_owned(),
        172_800..5_184_000 => unit(seconds / 86_400, "day", "days"),
        5_184_000..63_072_000 => unit(seconds / 2_592_000, "month", "months"),
        _ => unit(seconds / 31_536_000, "year", "years"),
    }
}

/// An instant to the minute, for a tooltip or a fact.
pub fn instant(at: Timestamp) -> String {
    let exact = at.to_string();
    // `YYYY-MM-DDTHH:MM…Z` → `YYYY-MM-DD HH:MM UTC`
    match (exact.get(..10), exact.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => exact,
    }
}

/// [`ago`] of an optional instant, "never" when there is none.
pub fn ago_or_never(at: Option<Timestamp>, now: Timestamp) -> String {
    at.map_or_else(|| "never".to_owned(), |at| ago(at, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        for (value, text) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (1_234, "1,234"),
            (123_456, "123,456"),
            (1_234_567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(count(value), text);
        }
    }

    #[test]
    fn ages_are_in_the_largest_whole_unit() {
        let now = Timestamp::parse("2025-06-01T12:00:00Z").unwrap();
        let before = |seconds: i64| Timestamp::from_micros(now.as_micros() - seconds * 1_000_000);
        for (seconds, text) in [
            (-30, "just now"),
            (0, "just now"),
            (59, "just now"),
            (60, "1 minute ago"),
            (125, "2 minutes ago"),
            (3_600, "1 hour ago"),
            (86_399, "23 hours ago"),
            (86_400, "yesterday"),
            (3 * 86_400, "3 days ago"),
            (59 * 86_400, "59 days ago"),
            (60 * 86_400, "2 months ago"),
            (800 * 86_400, "2 years ago"),
        ] {
            assert_eq!(ago(before(seconds), now), text, "{seconds} s");
        }
        assert_eq!(ago_or_never(None, now), "never");
    }

    #[test]
    fn instants_read_to_the_minute() {
        let at = Timestamp::parse("2025-05-31T14:02:59.123Z").unwrap();
        assert_eq!(instant(at), "2025-05-31 14:02 UTC");
    }
}
