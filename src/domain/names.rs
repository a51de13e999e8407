//! Identifiers and bounded strings, parsed once at the boundary.
//!
//! A value of one of these types is valid by construction: code past the
//! parser never re-checks lengths or character sets.

use std::fmt;

use compact_str::CompactString;

/// Why a string did not parse into one of the types here. The caller adds
/// which field it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters, got {len}")]
    TooLong { max: usize, len: usize },
    #[error("must be at most {max} bytes, got {len}")]
    TooLongBytes { max: usize, len: usize },
    #[error("{0}")]
    Invalid(&'static str),
}

fn check_length(text: &str, max: usize) -> Result<(), NameError> {
    // A string has at most as many characters as bytes: most need no count.
    if !text.is_empty() && text.len() <= max {
        return Ok(());
    }
    let len = text.chars().count();
    if len == 0 {
        Err(NameError::Empty)
    } else if len > max {
        Err(NameError::TooLong { max, len })
    } else {
        Ok(())
    }
}

/// Why a description with a NUL is refused.
const NUL_REFUSED: &str = "must not contain NUL (U+0000) characters";

fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Declares a newtype over a string holding 1..=`max` characters without
/// control characters.
///
/// The string is a [`CompactString`], which keeps up to 24 bytes inline:
/// event ids and tokens are mostly that short, and an import allocated,
/// copied into its pending changes and freed millions of them.
macro_rules! bounded_string {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(CompactString);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(text: &str) -> Result<Self, NameError> {
                check_length(text, Self::MAX_CHARS)?;
                if has_control_characters(text) {
                    return Err(NameError::Invalid("must not contain control characters"));
                }
                Ok(Self(CompactString::from(text)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

bounded_string!(
    /// An event's idempotency key: 1–128 characters, unique in its workspace.
    EventId,
    128
);
bounded_string!(
    /// A report, space, schedule, run or exploration token: 1–64 characters.
    Token,
    64
);
bounded_string!(
    /// A display name (report, space, member): 1–256 characters.
    Name,
    256
);
bounded_string!(
    /// A member's username: 1–64 characters.
    Username,
    64
);
bounded_string!(
    /// A chart's type (`bar`, `line`, `table`, `big_number`, ...): 1–64
    /// characters. Open-ended: a BI tool's chart types grow.
    ChartType,
    64
);

/// A free-text description, 0–10,000 characters: newlines and other control
/// characters allowed, except NUL (U+0000).
///
/// No string of an event may hold a NUL: PostgreSQL's text cannot store one
/// (SQLite can), and the two backends must accept the same events. The
/// other types here refuse every control character, NUL included.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(text: &str) -> Result<Self, NameError> {
        let len = text.chars().count();
        if len > Self::MAX_CHARS {
            return Err(NameError::TooLong {
                max: Self::MAX_CHARS,
                len,
            });
        }
        if text.contains('\0') {
            return Err(NameError::Invalid(NUL_REFUSED));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Description {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A query's SQL text, up to 256 KiB (bytes, as a request limit counts
/// them): newlines, tabs and quotes allowed, NUL refused as in a
/// [`Description`]. May be empty, as a query being written is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawQuery(String);

impl RawQuery {
    pub const MAX_BYTES: usize = 256 * 1024;

    pub fn parse(text: &str) -> Result<Self, NameError> {
        if text.len() > Self::MAX_BYTES {
            return Err(NameError::TooLongBytes {
                max: Self::MAX_BYTES,
                len: text.len(),
            });
        }
        if text.contains('\0') {
            return Err(NameError::Invalid(NUL_REFUSED));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A workspace's username, the `{workspace}` segment of every URL: 1–64
/// characters of `a-z 0-9 _ -`, starting with a letter or a digit.
///
/// ```
/// use reportstats::domain::WorkspaceName;
///
/// assert_eq!(WorkspaceName::parse("data-team").unwrap().as_str(), "data-team");
/// assert!(WorkspaceName::parse("Data Team").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkspaceName(String);

impl WorkspaceName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Result<Self, NameError> {
        check_length(text, Self::MAX_CHARS)?;
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        if !text.chars().all(allowed) {
            return Err(NameError::Invalid(
                "may contain only lowercase letters, digits, '_' and '-'",
            ));
        }
        if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(NameError::Invalid("must start with a letter or a digit"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkspaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member's email, lowercased: members are compared case-insensitively and
/// shown lowercased (SPEC section 2).
///
/// ```
/// use reportstats::domain::Email;
///
/// assert_eq!(Email::parse("Ann@Acme.COM").unwrap().as_str(), "ann@acme.com");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(CompactString);

impl Email {
    /// RFC 5321's limit on a forward path.
    pub const MAX_CHARS: usize = 254;

    pub fn parse(text: &str) -> Result<Self, NameError> {
        check_length(text, Self::MAX_CHARS)?;
        if text.is_ascii() {
            Self::parse_ascii(text)
        } else {
            Self::parse_unicode(text)
        }
    }

    fn parse_unicode(text: &str) -> Result<Self, NameError> {
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(NameError::Invalid(
                "must not contain spaces or control characters",
            ));
        }
        match text.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Self(CompactString::from(text.to_lowercase())))
            }
            _ => Err(NameError::Invalid("must look like name@domain")),
        }
    }

    /// [`Email::parse_unicode`] of an ASCII address, in one pass over its
    /// bytes, with the same checks in the same order: nearly every address
    /// is ASCII, and nearly every event names one.
    fn parse_ascii(text: &str) -> Result<Self, NameError> {
        let mut at_signs = 0;
        let mut at = 0;
        for (index, byte) in text.bytes().enumerate() {
            // ASCII's whitespace and control characters: up to the space, and DEL.
            if byte <= b' ' || byte == 0x7f {
                return Err(NameError::Invalid(
                    "must not contain spaces or control characters",
                ));
            }
            if byte == b'@' {
                at_signs += 1;
                at = index;
            }
        }
        if at_signs != 1 || at == 0 || at == text.len() - 1 {
            return Err(NameError::Invalid("must look like name@domain"));
        }
        let mut email = CompactString::from(text);
        email.make_ascii_lowercase();
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A report's numeric id: 1 ≤ id ≤ 2^53 − 1, the integers every JSON client
/// can hold exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ReportId(i64);

impl ReportId {
    pub const MAX: i64 = (1 << 53) - 1;

    pub fn new(value: i64) -> Result<Self, NameError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(NameError::Invalid(
                "must be an integer from 1 to 9007199254740991",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn workspace_names_follow_the_username_rules() {
        for good in ["acme", "a", "0day", "data-team_2", &"x".repeat(64)] {
            assert!(WorkspaceName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Acme",
            "-acme",
            "_acme",
            "ac me",
            "acmé",
            &"x".repeat(65),
        ] {
            assert!(WorkspaceName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_lowercased_and_need_an_at_sign() {
        assert_eq!(
            Email::parse("User0@Company.COM").unwrap().as_str(),
            "user0@company.com"
        );
        for bad in [
            "",
            "user",
            "@company.com",
            "user@",
            "a@b@c",
            "us er@company.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn an_ascii_email_parses_as_any_other_would(text in "[ -~\t\u{0}\u{7f}@]{1,12}") {
            prop_assert_eq!(Email::parse_ascii(&text), Email::parse_unicode(&text));
        }
    }

    #[test]
    fn no_string_type_holds_a_nul() {
        let nul = "a\u{0}b";
        assert_eq!(
            Description::parse(nul),
            Err(NameError::Invalid(NUL_REFUSED))
        );
        assert!(Description::parse("\u{0}").is_err());
        assert!(EventId::parse(nul).is_err());
        assert!(Token::parse(nul).is_err());
        assert!(Name::parse(nul).is_err());
        assert!(Username::parse(nul).is_err());
        assert!(Email::parse("a\u{0}@b.c").is_err());
        assert!(Email::parse("a@b.c\u{0}é").is_err());
        assert!(WorkspaceName::parse(nul).is_err());
    }

    #[test]
    fn descriptions_keep_newlines_tabs_and_other_control_characters() {
        let text = "line one\n\tline two\r\n\u{1}\u{7f}";
        assert_eq!(Description::parse(text).unwrap().as_str(), text);
        assert_eq!(Description::parse("").unwrap().as_str(), "");
    }

    #[test]
    fn report_ids_stay_within_json_safe_integers() {
        assert!(ReportId::new(1).is_ok());
        assert!(ReportId::new(ReportId::MAX).is_ok());
        assert!(ReportId::new(0).is_err());
        assert!(ReportId::new(-5).is_err());
        assert!(ReportId::new(ReportId::MAX + 1).is_err());
    }

    #[test]
    fn tokens_count_characters_not_bytes() {
        assert!(Token::parse(&"é".repeat(64)).is_ok());
        assert_eq!(
            Token::parse(&"é".repeat(65)),
            Err(NameError::TooLong { max: 64, len: 65 })
        );
        assert!(Token::parse("a\u{0}b").is_err());
    }

    proptest! {
        #[test]
        fn parsed_emails_compare_case_insensitively(local in "[a-zA-Z0-9._]{1,20}", domain in "[a-zA-Z0-9.]{1,20}") {
            let mixed = Email::parse(&format!("{local}@{domain}")).unwrap();
            let lower = Email::parse(&format!("{}@{}", local.to_lowercase(), domain.to_lowercase())).unwrap();
            prop_assert_eq!(mixed, lower);
        }

        #[test]
        fn every_valid_workspace_name_round_trips(name in "[a-z0-9][a-z0-9_-]{0,63}") {
            let parsed = WorkspaceName::parse(&name).unwrap();
            prop_assert_eq!(parsed.as_str(), name.as_str());
        }
    }
}
