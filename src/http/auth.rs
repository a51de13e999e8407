//! Who is asking: credentials from the `Authorization` header, checked
//! against the workspace in the path.
//!
//! The order of checks is part of the contract (SPEC section 5): first the
//! credential must be valid (else 401, before anything about any workspace is
//! revealed); then it must belong to the workspace in the path (else 404,
//! the same answer whether that workspace exists or not).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AppState;
use super::error::ApiError;
use crate::domain::api_key::{hash_secret, secret_matches};
use crate::storage::Workspace;

/// A request authenticated with an API key of the workspace in its path.
#[derive(Clone, Debug)]
pub struct WorkspaceAccess {
    pub workspace: Workspace,
}

/// `token:secret` from a Basic `Authorization` header.
struct BasicCredentials {
    token: String,
    secret: String,
}

const MALFORMED: &str = "The Authorization header is malformed";

fn basic_credentials(parts: &Parts) -> Result<BasicCredentials, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "Authentication required: send the workspace API key as HTTP Basic credentials",
        ))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized(MALFORMED))?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or(ApiError::Unauthorized(MALFORMED))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::Unauthorized(
            "Unsupported authorization scheme: send the workspace API key as HTTP Basic credentials",
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::Unauthorized(MALFORMED))?;
    let decoded = String::from_utf8(decoded).map_err(|_| ApiError::Unauthorized(MALFORMED))?;
    let (token, secret) = decoded
        .split_once(':')
        .ok_or(ApiError::Unauthorized(MALFORMED))?;
    Ok(BasicCredentials {
        token: token.to_owned(),
        secret: secret.to_owned(),
    })
}

/// The `{workspace}` segment of the matched route.
async fn workspace_segment(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound)?;
    params.remove("workspace").ok_or(ApiError::NotFound)
}

impl FromRequestParts<AppState> for WorkspaceAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credentials = basic_credentials(parts)?;
        let stored = state.store.api_key(&credentials.token).await?;
        let workspace = match stored {
            Some(key) if secret_matches(&credentials.secret, &key.secret_hash) => key.workspace,
            Some(_) => return Err(ApiError::Unauthorized("Invalid credentials")),
            None => {
                // Spend the same hashing time as for a known token, so timing
                // does not tell which tokens exist.
                let _ = hash_secret(&credentials.secret);
                return Err(ApiError::Unauthorized("Invalid credentials"));
            }
        };
        if workspace_segment(parts, state).await? != workspace.name.as_str() {
            return Err(ApiError::NotFound);
        }
        Ok(WorkspaceAccess { workspace })
    }
}
