//! Signature tokens: read-only credentials with an expiry, minted with a
//! workspace API key (SPEC section 5) and sent as
//! `Authorization: Bearer base64("{token}:{access_key}:{access_secret}")`.
//!
//! Both the access key and the access secret are random and stored only as
//! SHA-256 hashes, like workspace API key secrets; the token is the lookup
//! key.

use rand::RngCore;
use serde_json::Value;

use super::api_key::{SecretHash, hash_secret};
use super::timestamp::Timestamp;

/// The only scope there is: the batch API, read-only. Mode's request body
/// names it explicitly, and so must ours.
pub const AUTHENTICATION_FOR: &str = "batch-api";
pub const AUTHORIZATION_TYPE: &str = "read-only";

/// A freshly minted token. The access key and secret exist in clear only in
/// this value, which is returned to the client once.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSignatureToken {
    pub token: String,
    pub access_key: String,
    pub access_secret: String,
}

impl std::fmt::Debug for NewSignatureToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSignatureToken")
            .field("token", &self.token)
            .field("access_key", &"<redacted>")
            .field("access_secret", &"<redacted>")
            .finish()
    }
}

impl NewSignatureToken {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut token = [0u8; 6];
        let mut access_key = [0u8; 16];
        let mut access_secret = [0u8; 32];
        rng.fill_bytes(&mut token);
        rng.fill_bytes(&mut access_key);
        rng.fill_bytes(&mut access_secret);
        NewSignatureToken {
            token: hex::encode(token),
            access_key: hex::encode(access_key),
            access_secret: hex::encode(access_secret),
        }
    }

    pub fn access_key_hash(&self) -> SecretHash {
        hash_secret(&self.access_key)
    }

    pub fn access_secret_hash(&self) -> SecretHash {
        hash_secret(&self.access_secret)
    }
}

/// A validated request to mint a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MintRequest {
    pub name: String,
    pub expires_at: Timestamp,
}

/// What is wrong with a mint request, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct MintRequestError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> MintRequestError {
    MintRequestError {
        field,
        message: message.into(),
    }
}

impl MintRequest {
    pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 4..=64;

    /// Parses Mode's body:
    /// `{"signature_token": {"name", "expires_at", "auth_scope":
    /// {"authentication_for": "batch-api", "authorization_type": "read-only"}}}`.
    /// Fields Mode does not define are ignored, as Mode's clients may send
    /// more than we read.
    pub fn parse(body: &[u8], now: Timestamp) -> Result<MintRequest, MintRequestError> {
        let value: Value = serde_json::from_slice(body).map_err(|error| {
            invalid("signature_token", format!("must be a JSON object: {error}"))
        })?;
        let token = value
            .get("signature_token")
            .filter(|token| token.is_object())
            .ok_or_else(|| invalid("signature_token", "is required and must be an object"))?;

        let name = match token.get("name") {
            Some(Value::String(name)) => name.trim(),
            Some(_) => return Err(invalid("signature_token.name", "must be a string")),
            None => return Err(invalid("signature_token.name", "is required")),
        };
        let length = name.chars().count();
        if !Self::NAME_CHARS.contains(&length) || name.chars().any(char::is_control) {
            return Err(invalid(
                "signature_token.name",
                format!("must be 4 to 64 characters without control characters, got {length}"),
            ));
        }

        let expires_at = match token.get("expires_at") {
            Some(Value::String(text)) => parse_expiry(text)
                .map_err(|error| invalid("signature_token.expires_at", error.to_string()))?,
            Some(_) => {
                return Err(invalid(
                    "signature_token.expires_at",
                    "must be an RFC 3339 string",
                ));
            }
            None => return Err(invalid("signature_token.expires_at", "is required")),
        };
        if expires_at <= now {
            return Err(invalid(
                "signature_token.expires_at",
                "must be in the future",
            ));
        }

        let scope = token
            .get("auth_scope")
            .filter(|scope| scope.is_object())
            .ok_or_else(|| {
                invalid(
                    "signature_token.auth_scope",
                    "is required and must be an object",
                )
            })?;
        for (field, key, expected) in [
            (
                "signature_token.auth_scope.authentication_for",
                "authentication_for",
                AUTHENTICATION_FOR,
            ),
            (
                "signature_token.auth_scope.authorization_type",
                "authorization_type",
                AUTHORIZATION_TYPE,
            ),
        ] {
            if scope.get(key).and_then(Value::as_str) != Some(expected) {
                return Err(invalid(field, format!("must be `{expected}`")));
            }
        }
        Ok(MintRequest {
            name: name.to_owned(),
            expires_at,
        })
    }
}

/// RFC 3339, and also the same without seconds (`2027-01-01T00:00Z`), which
/// clients following Mode's examples send.
fn parse_expiry(text: &str) -> Result<Timestamp, crate::domain::timestamp::TimestampError> {
    Timestamp::parse(text).or_else(|error| {
        let offset_at = text
            .char_indices()
            .skip(16)
            .find(|(_, c)| matches!(c, 'Z' | 'z' | '+' | '-'))
            .map(|(index, _)| index);
        match offset_at {
            Some(16) => Timestamp::parse(&format!("{}:00{}", &text[..16], &text[16..])),
            _ => Err(error),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap()
    }

    fn body(
        name: Value,
        expires_at: Value,
        authentication_for: &str,
        authorization_type: &str,
    ) -> Vec<u8> {
        json!({"signature_token": {"name": name, "expires_at": expires_at,
            "auth_scope": {"authentication_for": authentication_for, "authorization_type": authorization_type}}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn accepts_modes_request_body() {
        let request = MintRequest::parse(
            &body(
                json!("nightly export"),
                json!("2027-01-01T00:00:00Z"),
                "batch-api",
                "read-only",
            ),
            now(),
        )
        .unwrap();
        assert_eq!(request.name, "nightly export");
        assert_eq!(
            request.expires_at,
            Timestamp::parse("2027-01-01T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn an_expiry_without_seconds_is_accepted() {
        for expires_at in [
            "2027-01-01T00:00Z",
            "2027-01-01T01:00+01:00",
            "2027-01-01T00:00:00+00:00",
        ] {
            let request = MintRequest::parse(
                &body(
                    json!("nightly"),
                    json!(expires_at),
                    "batch-api",
                    "read-only",
                ),
                now(),
            )
            .unwrap();
            assert_eq!(
                request.expires_at,
                Timestamp::parse("2027-01-01T00:00:00Z").unwrap(),
                "{expires_at}"
            );
        }
    }

    #[test]
    fn each_mistake_names_its_field() {
        let future = json!("2027-01-01T00:00:00Z");
        let cases = [
            (
                body(json!("abc"), future.clone(), "batch-api", "read-only"),
                "signature_token.name",
            ),
            (
                body(
                    json!("x".repeat(65)),
                    future.clone(),
                    "batch-api",
                    "read-only",
                ),
                "signature_token.name",
            ),
            (
                body(json!(42), future.clone(), "batch-api", "read-only"),
                "signature_token.name",
            ),
            (
                body(
                    json!("name"),
                    json!("2026-10-01T00:00:00Z"),
                    "batch-api",
                    "read-only",
                ),
                "signature_token.expires_at",
            ),
            (
                body(json!("name"), json!("soon"), "batch-api", "read-only"),
                "signature_token.expires_at",
            ),
            (
                body(json!("name"), future.clone(), "rest-api", "read-only"),
                "signature_token.auth_scope.authentication_for",
            ),
            (
                body(json!("name"), future.clone(), "batch-api", "read-write"),
                "signature_token.auth_scope.authorization_type",
            ),
            (b"{}".to_vec(), "signature_token"),
            (b"not json".to_vec(), "signature_token"),
        ];
        for (body, field) in cases {
            let error = MintRequest::parse(&body, now()).unwrap_err();
            assert_eq!(error.field, field, "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn generated_credentials_are_distinct_and_redacted_in_debug_output() {
        let token = NewSignatureToken::generate();
        assert_ne!(token.access_key, token.access_secret);
        let debug = format!("{token:?}");
        assert!(!debug.contains(&token.access_key) && !debug.contains(&token.access_secret));
    }
}
