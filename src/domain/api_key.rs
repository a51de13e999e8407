//! Workspace API keys: made by the operator's CLI, sent as HTTP Basic auth.
//!
//! The secret is 32 random bytes; only its SHA-256 is stored. A slow password
//! hash would add nothing here: the secret is random, not chosen by a person,
//! so there is no dictionary to guess from.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly made key. The secret exists in clear only in this value, which
/// is shown to the operator once.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub token: String,
    pub secret: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("token", &self.token)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The SHA-256 of a secret, as stored.
pub type SecretHash = [u8; 32];

impl NewApiKey {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut token = [0u8; 6];
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut token);
        rng.fill_bytes(&mut secret);
        NewApiKey {
            // Twelve hex digits, the shape of Mode's own tokens.
            token: hex::encode(token),
            secret: hex::encode(secret),
        }
    }

    pub fn secret_hash(&self) -> SecretHash {
        hash_secret(&self.secret)
    }
}

pub fn hash_secret(secret: &str) -> SecretHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` hashes to `stored`, in time that does not depend on
/// where the two differ.
pub fn secret_matches(secret: &str, stored: &SecretHash) -> bool {
    hash_secret(secret).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_matches_its_own_hash_only() {
        let key = NewApiKey::generate();
        assert_eq!(key.token.len(), 12);
        assert_eq!(key.secret.len(), 64);
        assert!(secret_matches(&key.secret, &key.secret_hash()));
        assert!(!secret_matches("guess", &key.secret_hash()));
        assert_ne!(key, NewApiKey::generate());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = NewApiKey::generate();
        assert!(!format!("{key:?}").contains(&key.secret));
    }
}
