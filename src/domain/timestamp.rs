//! Instants as the API sees them: RFC 3339 in, RFC 3339 in UTC with milliseconds out.

use std::fmt::{self, Write};

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// An instant, stored as whole microseconds since the Unix epoch.
///
/// Microseconds are what both SQLite (as an integer) and PostgreSQL keep
/// exactly, so two events that tie here tie everywhere, and the tie is then
/// broken by event id as SPEC section 3 says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Microseconds in a UTC day: instants are counted in them.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A UTC date, as days since 1970-01-01; shown as `YYYY-MM-DD`.
///
/// ```
/// use reportstats::domain::Timestamp;
///
/// let midnight = Timestamp::parse("2026-11-20T00:00:00Z").unwrap();
/// let before = Timestamp::parse("2026-11-19T23:59:59.999999Z").unwrap();
/// assert_eq!(midnight.utc_day().to_string(), "2026-11-20");
/// assert_eq!(before.utc_day().days_since_epoch() + 1, midnight.utc_day().days_since_epoch());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDay(i64);

impl UtcDay {
    pub fn from_days_since_epoch(days: i64) -> Self {
        UtcDay(days)
    }

    pub fn days_since_epoch(self) -> i64 {
        self.0
    }

    /// A date written `YYYY-MM-DD`, as [`Display`](fmt::Display) writes it.
    ///
    /// ```
    /// use reportstats::domain::timestamp::UtcDay;
    ///
    /// assert_eq!(UtcDay::parse("2026-11-20").unwrap().to_string(), "2026-11-20");
    /// assert!(UtcDay::parse("2026-02-29").is_none());
    /// assert!(UtcDay::parse("2026-11-20T00:00:00Z").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = bytes.get(range)?;
            part.iter().all(u8::is_ascii_digit).then(|| {
                part.iter()
                    .fold(0, |number, digit| number * 10 + i64::from(digit - b'0'))
            })
        };
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let valid = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
        valid.then(|| UtcDay(days_from_civil(year, month, day)))
    }

    /// The date `days` later (earlier if negative).
    pub fn plus_days(self, days: i64) -> Self {
        UtcDay(self.0 + days)
    }

    /// Its first instant, 00:00:00.000000 UTC.
    pub fn start(self) -> Timestamp {
        Timestamp(self.0 * MICROS_PER_DAY)
    }
}

impl serde::Serialize for UtcDay {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for UtcDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.0);
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("is not an RFC 3339 timestamp (e.g. 2026-11-01T12:00:00Z)")]
    Malformed,
    #[error("is before 1970-01-01T00:00:00Z")]
    BeforeEpoch,
    /// An offset can put a 9999 date past the last instant whose UTC form
    /// RFC 3339's four-digit year can write.
    #[error("is after 9999-12-31T23:59:59.999999Z")]
    AfterYear9999,
}

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);
    /// 9999-12-31T23:59:59.999999Z, the last instant that prints (and so
    /// reads back) as RFC 3339 in UTC.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999_999);

    pub fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp with any offset; precision beyond
    /// microseconds is truncated.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        match parse_utc(text) {
            Some(instant) => Ok(instant),
            None => Self::parse_rfc3339(text),
        }
    }

    pub(crate) fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let instant =
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TimestampError::Malformed)?;
        let micros = instant.unix_timestamp_nanos().div_euclid(1_000);
        if micros < 0 {
            return Err(TimestampError::BeforeEpoch);
        }
        if micros > i128::from(Timestamp::MAX.0) {
            return Err(TimestampError::AfterYear9999);
        }
        i64::try_from(micros)
            .map(Timestamp)
            .map_err(|_| TimestampError::Malformed)
    }

    pub fn now() -> Self {
        let micros = OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .div_euclid(1_000);
        Timestamp(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    pub fn saturating_add_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    pub fn saturating_sub_days(self, days: u32) -> Self {
        Timestamp(self.0.saturating_sub(i64::from(days) * 86_400 * 1_000_000))
    }

    /// The UTC date this instant falls on.
    pub fn utc_day(self) -> UtcDay {
        UtcDay(self.0.div_euclid(MICROS_PER_DAY))
    }

    /// Writes this instant as RFC 3339 in UTC with every digit it holds:
    /// milliseconds when that is exact, microseconds otherwise. This is the
    /// event log's form, which must read back as the same instant (the
    /// API's millisecond [`Display`](fmt::Display) form would not).
    pub fn write_exact(self, out: &mut String) {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let in_day = self.0.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let seconds = in_day / 1_000_000;
        let micros = in_day % 1_000_000;
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
        let _ = if micros % 1000 == 0 {
            write!(out, ".{:03}Z", micros / 1000)
        } else {
            write!(out, ".{micros:06}Z")
        };
    }

    fn to_offset_date_time(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000).ok()
    }
}

/// Reads the form nearly every event carries, `2026-11-01T12:00:00.123Z`
/// (UTC, a fraction of up to nine digits or none, from 1970 on), without
/// the `time` crate's general parser, which was a sizeable part of reading
/// an event (BENCHMARKS.md, "What reading an event and checking its id
/// cost"). `None` for anything else, valid or not, which
/// [`Timestamp::parse`] then reads in full.
pub(crate) fn parse_utc(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || [bytes[4], bytes[7], bytes[10], bytes[13], bytes[16]] != *b"--T::"
        || bytes.last() != Some(&b'Z')
    {
        return None;
    }
    let digits = |digits: &[u8]| {
        digits.iter().try_fold(0i64, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + i64::from(digit - b'0'))
        })
    };
    let (year, month, day) = (
        digits(&bytes[0..4])?,
        digits(&bytes[5..7])?,
        digits(&bytes[8..10])?,
    );
    let (hour, minute, second) = (
        digits(&bytes[11..13])?,
        digits(&bytes[14..16])?,
        digits(&bytes[17..19])?,
    );
    let nanos = match &bytes[19..bytes.len() - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(fraction)? * 10i64.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    // A leap second (`:60`) is left to the full parser.
    let valid = year >= 1970
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    valid.then(|| {
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        Timestamp(seconds * 1_000_000 + nanos / 1_000)
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    // Months counted from March, so that a leap day ends the year.
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`), without a calendar library's validation on
/// the import path.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-01T12:00:00.000Z`: UTC, always with milliseconds (SPEC section 5).
impl fmt::Display for Timestamp {
    /// `2026-11-01T12:00:00.123Z` (milliseconds, truncated). Written by hand
    /// for years of four digits, as nearly every instant is: pages list
    /// thousands of them, and the general formatting was about a third of
    /// rendering a page of members.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.0.div_euclid(MICROS_PER_DAY));
        if (0..=9999).contains(&year) {
            let of_day = self.0.rem_euclid(MICROS_PER_DAY);
            let mut text = *b"0000-00-00T00:00:00.000Z";
            let mut put = |at: usize, width: usize, mut value: i64| {
                for digit in text[at..at + width].iter_mut().rev() {
                    *digit = b'0' + (value % 10) as u8;
                    value /= 10;
                }
            };
            put(0, 4, year);
            put(5, 2, i64::from(month));
            put(8, 2, i64::from(day));
            put(11, 2, of_day / 3_600_000_000);
            put(14, 2, of_day / 60_000_000 % 60);
            put(17, 2, of_day / 1_000_000 % 60);
            put(20, 3, of_day / 1_000 % 1_000);
            return f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?);
        }
        match self.through_time_crate() {
            Some(text) => f.write_str(&text),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Timestamp {
    /// The same form, through the `time` crate: for the years the form
    /// written by hand does not take, and the reference it is tested against.
    fn through_time_crate(self) -> Option<String> {
        let utc = self.to_offset_date_time()?.to_offset(UtcOffset::UTC);
        Some(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.millisecond()
        ))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written form is the `time` crate's, at any instant of
    /// years 0 to 9999 (and those around the edges of days and years).
    #[test]
    fn instants_are_written_as_the_time_crate_writes_them() {
        let mut micros: i64 = -62_167_219_200_000_000; // 0000-01-01
        let last: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999
        let mut step: i64 = 1;
        while micros <= last {
            for at in [micros, micros + 999, micros - 1].map(Timestamp::from_micros) {
                if at.as_micros() >= -62_167_219_200_000_000 && at.as_micros() <= last {
                    assert_eq!(
                        Some(at.to_string()),
                        at.through_time_crate(),
                        "{}",
                        at.as_micros()
                    );
                }
            }
            // Steps of every size, so that every field takes many values.
            step = step.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            micros += 86_399_999_999 + ((step as u64 >> 11) % 200_000_000_000_000) as i64;
        }
    }

    #[test]
    fn parses_offsets_and_prints_utc_with_milliseconds() {
        let t = Timestamp::parse("2026-11-01T14:00:00.123456+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-01T12:00:00.123Z");
        assert_eq!(t.as_micros() % 1_000_000, 123_456);
    }

    #[test]
    fn the_exact_form_reads_back_as_the_same_instant() {
        // Steps of a prime number of microseconds over two centuries hit
        // every month, leap days and sub-millisecond digits.
        let mut micros = 0;
        while micros < 7_000_000_000_000_000 {
            let t = Timestamp::from_micros(micros);
            let mut exact = String::new();
            t.write_exact(&mut exact);
            assert_eq!(Timestamp::parse(&exact), Ok(t), "{exact}");
            if micros % 1000 == 0 {
                assert_eq!(exact, t.to_string());
            }
            micros += 1_234_567_890_123;
        }
        let mut exact = String::new();
        Timestamp::parse("2024-02-29T23:59:59.000001Z")
            .unwrap()
            .write_exact(&mut exact);
        assert_eq!(exact, "2024-02-29T23:59:59.000001Z");
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for text in [
            "2026-11-01",
            "yesterday",
            "2026-11-01 12:00:00",
            "2026-13-01T00:00:00Z",
            "",
        ] {
            assert_eq!(
                Timestamp::parse(text),
                Err(TimestampError::Malformed),
                "{text}"
            );
        }
        assert_eq!(
            Timestamp::parse("1969-12-31T23:59:59Z"),
            Err(TimestampError::BeforeEpoch)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Over timestamps of the common form, valid or not by a little,
        /// the direct reader answers for every valid one from 1970 on, and
        /// as the full parser does.
        #[test]
        fn the_common_form_reads_as_the_full_parser_reads_it(
            year in 1960..2110i64,
            month in 0..14i64,
            day in 0..33i64,
            hour in 0..25i64,
            minute in 0..61i64,
            second in 0..62i64,
            fraction in proptest::option::of("[0-9]{0,10}"),
        ) {
            let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
            if let Some(fraction) = &fraction {
                text.push('.');
                text.push_str(fraction);
            }
            text.push('Z');
            let full = Timestamp::parse_rfc3339(&text);
            match parse_utc(&text) {
                Some(direct) => proptest::prop_assert_eq!(Ok(direct), full),
                None => {
                    let covered = year >= 1970
                        && second <= 59
                        && fraction.as_ref().is_none_or(|digits| (1..=9).contains(&digits.len()));
                    proptest::prop_assert!(!(covered && full.is_ok()), "{text} read as {full:?}");
                }
            }
        }
    }

    #[test]
    fn the_direct_reader_leaves_other_forms_to_the_full_parser() {
        for text in [
            "2026-11-01T12:00:00+00:00",
            "2026-11-01t12:00:00z",
            "2026-11-01T12:00:00.Z",
            "2026-11-01T12:00:60Z",
            "2026-11-01T12:00:00.1234567890Z",
            "+2026-11-01T12:00:00Z",
            "2026-11-01T12:00:00Z ",
        ] {
            assert_eq!(parse_utc(text), None, "{text}");
        }
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(Timestamp::EPOCH));
    }

    /// Found by the `timestamp` fuzz target: `9999-12-31T23:59:59-23:59`
    /// was accepted as an instant in the year 10000, which printed as its
    /// microseconds and whose exact form did not read back.
    #[test]
    fn refuses_instants_that_fall_after_the_year_9999_in_utc() {
        assert_eq!(
            Timestamp::parse("9999-12-31T23:59:59-23:59"),
            Err(TimestampError::AfterYear9999)
        );
        let last = Timestamp::parse("9999-12-31T23:59:59.999999999Z").unwrap();
        assert_eq!(last, Timestamp::MAX);
        assert_eq!(last.to_string(), "9999-12-31T23:59:59.999Z");
        let mut exact = String::new();
        last.write_exact(&mut exact);
        assert_eq!(Timestamp::parse(&exact), Ok(last));
        assert_eq!(
            Timestamp::parse("9999-12-31T23:59:59.999999-00:01"),
            Err(TimestampError::AfterYear9999)
        );
    }

    #[test]
    fn orders_by_instant_not_by_text() {
        let earlier = Timestamp::parse("2026-11-01T12:00:00+01:00").unwrap();
        let later = Timestamp::parse("2026-11-01T11:30:00Z").unwrap();
        assert!(earlier < later);
    }
}
