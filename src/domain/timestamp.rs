//! Instants as the API sees them: RFC 3339 in, RFC 3339 in UTC with milliseconds out.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// An instant, stored as whole microseconds since the Unix epoch.
///
/// Microseconds are what both SQLite (as an integer) and PostgreSQL keep
/// exactly, so two events that tie here tie everywhere, and the tie is then
/// broken by event id as SPEC section 3 says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("is not an RFC 3339 timestamp (e.g. 2026-11-01T12:00:00Z)")]
    Malformed,
    #[error("is before 1970-01-01T00:00:00Z")]
    BeforeEpoch,
}

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);

    pub fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp with any offset; precision beyond
    /// microseconds is truncated.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let instant =
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TimestampError::Malformed)?;
        let micros = instant.unix_timestamp_nanos().div_euclid(1_000);
        if micros < 0 {
            return Err(TimestampError::BeforeEpoch);
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

    fn to_offset_date_time(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000).ok()
    }
}

/// `2026-11-01T12:00:00.000Z`: UTC, always with milliseconds (SPEC section 5).
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(instant) = self.to_offset_date_time() else {
            return write!(f, "{}", self.0);
        };
        let utc = instant.to_offset(UtcOffset::UTC);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.millisecond()
        )
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

    #[test]
    fn parses_offsets_and_prints_utc_with_milliseconds() {
        let t = Timestamp::parse("2026-11-01T14:00:00.123456+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-01T12:00:00.123Z");
        assert_eq!(t.as_micros() % 1_000_000, 123_456);
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

    #[test]
    fn orders_by_instant_not_by_text() {
        let earlier = Timestamp::parse("2026-11-01T12:00:00+01:00").unwrap();
        let later = Timestamp::parse("2026-11-01T11:30:00Z").unwrap();
        assert!(earlier < later);
    }
}
