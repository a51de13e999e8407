//! Time as the generator counts it: milliseconds since 1970, in UTC.

pub(crate) const MS_PER_SECOND: i64 = 1_000;
pub(crate) const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub(crate) const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub(crate) const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// 0 is Sunday; 1970-01-01 was a Thursday.
pub(crate) fn weekday_of(at: i64) -> i64 {
    (at.div_euclid(MS_PER_DAY) + 4).rem_euclid(7)
}

/// The UTC year of `at`.
pub(crate) fn year_of(at: i64) -> i32 {
    time::OffsetDateTime::from_unix_timestamp(at.div_euclid(MS_PER_SECOND))
        .map_or(1970, |moment| moment.year())
}
