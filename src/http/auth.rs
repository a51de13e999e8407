//! Who is asking: credentials from the `Authorization` header, checked
//! against the workspace in the path.
//!
//! Two credentials exist (SPEC section 5): the workspace API key, sent as
//! HTTP Basic `token:secret`, and signature tokens, sent as
//! `Bearer base64("token:access_key:access_secret")`, in exactly one
//! `Authorization` header (two are a 400). The order of checks is
//! part of the contract: first the client's address must be within its
//! budget of failed authentications (else 429, see [`auth_failures`]), then
//! the credential must be valid (else 401, before anything about any
//! workspace is revealed; or 429 once its token is over its failure budget),
//! then within its rate limit (else 429), then it must belong to the
//! workspace in the path (else 404, the same answer whether that workspace
//! exists or not).
//!
//! [`auth_failures`]: super::auth_failures

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AppState;
use super::error::ApiError;
use crate::domain::api_key::{hash_secret, secret_matches};
use crate::storage::Workspace;

/// Which credential authenticated a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    ApiKey,
    SignatureToken,
}

/// A request authenticated with any credential of the workspace in its path:
/// what the batch GET endpoints need.
#[derive(Clone, Debug)]
pub struct ReadAccess {
    pub workspace: Workspace,
    pub credential: CredentialKind,
    /// The workspace's version, read with the credential: every batch
    /// acknowledged before this request is counted in it.
    pub workspace_version: i64,
}

/// A request authenticated with an API key of the workspace in its path:
/// what writing events and managing signature tokens need.
/// Read access to the credential's own workspace, for a path that names no
/// workspace (Mode's `/api/{username}`): what it finds is looked up in that
/// workspace alone.
#[derive(Clone, Debug)]
pub struct OwnWorkspaceAccess {
    pub workspace: Workspace,
}

#[derive(Clone, Debug)]
pub struct AdminAccess {
    pub workspace: Workspace,
    /// The API key's token, which the budget of events is kept under.
    pub token: String,
}

/// Credentials as presented, not yet checked.
pub(crate) enum Presented {
    Basic {
        token: String,
        secret: String,
    },
    Bearer {
        token: String,
        access_key: String,
        access_secret: String,
    },
}

const MALFORMED: ApiError = ApiError::Unauthorized("The Authorization header is malformed");
const INVALID: ApiError = ApiError::Unauthorized("Invalid credentials");

fn decoded(encoded: &str) -> Result<String, ApiError> {
    let bytes = STANDARD.decode(encoded.trim()).map_err(|_| MALFORMED)?;
    String::from_utf8(bytes).map_err(|_| MALFORMED)
}

pub(crate) fn presented_credentials(parts: &Parts) -> Result<Presented, ApiError> {
    let mut headers = parts.headers.get_all(AUTHORIZATION).iter();
    let header = headers.next().ok_or(ApiError::Unauthorized(
        "Authentication required: send a workspace API key (Basic) or a signature token (Bearer)",
    ))?;
    // With two headers, which one counts would be up to each proxy and
    // library on the way; refuse rather than pick one.
    if headers.next().is_some() {
        return Err(ApiError::BadRequest(
            "Send one Authorization header; this request has several".to_owned(),
        ));
    }
    let value = header.to_str().map_err(|_| MALFORMED)?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(MALFORMED)?;
    if scheme.eq_ignore_ascii_case("basic") {
        let text = decoded(encoded)?;
        let (token, secret) = text.split_once(':').ok_or(MALFORMED)?;
        Ok(Presented::Basic {
            token: token.to_owned(),
            secret: secret.to_owned(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let text = decoded(encoded)?;
        // `echo "$token:$key:$secret" | base64`, as shell users write it,
        // encodes a trailing newline.
        let text = text.trim_end_matches(['\n', '\r']);
        let mut parts = text.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(token), Some(access_key), Some(access_secret)) => Ok(Presented::Bearer {
                token: token.to_owned(),
                access_key: access_key.to_owned(),
                access_secret: access_secret.to_owned(),
            }),
            _ => Err(MALFORMED),
        }
    } else {
        Err(ApiError::Unauthorized(
            "Unsupported authorization scheme: use Basic (workspace API key) or Bearer (signature token)",
        ))
    }
}

/// What a credential that checks out gives: its workspace (with the
/// workspace's version at the time) and its kind.
pub(crate) struct Authenticated {
    pub(crate) workspace: Workspace,
    pub(crate) workspace_version: i64,
    pub(crate) kind: CredentialKind,
    /// The credential's token (never its secret): what its budgets are
    /// kept under.
    pub(crate) token: String,
}

/// What checking a presented credential found.
enum Verdict {
    Valid(Authenticated),
    /// An unknown token or a wrong secret: what guessing looks like, and
    /// what the failure budgets count.
    Wrong,
    /// A signature token whose secrets are right but whose time is up.
    Expired,
}

/// Checks the presented credential.
async fn authenticate(state: &AppState, presented: &Presented) -> Result<Verdict, ApiError> {
    match presented {
        Presented::Basic { token, secret } => match state.store.api_key(token).await? {
            Some(key) if secret_matches(secret, &key.secret_hash) => {
                Ok(Verdict::Valid(Authenticated {
                    workspace: key.workspace,
                    workspace_version: key.workspace_version,
                    kind: CredentialKind::ApiKey,
                    token: token.clone(),
                }))
            }
            Some(_) => Ok(Verdict::Wrong),
            None => {
                // Spend the same hashing time as for a known token, so
                // timing does not tell which tokens exist.
                let _ = hash_secret(secret);
                Ok(Verdict::Wrong)
            }
        },
        Presented::Bearer {
            token,
            access_key,
            access_secret,
        } => match state.store.signature_token(token).await? {
            Some(stored) => {
                // Both halves are checked, whatever the first one says.
                let key_matches = secret_matches(access_key, &stored.record.access_key_hash);
                let secret_ok = secret_matches(access_secret, &stored.record.access_secret_hash);
                if !(key_matches & secret_ok) {
                    return Ok(Verdict::Wrong);
                }
                if stored.record.expires_at <= state.clock.now() {
                    return Ok(Verdict::Expired);
                }
                Ok(Verdict::Valid(Authenticated {
                    workspace: stored.workspace,
                    workspace_version: stored.workspace_version,
                    kind: CredentialKind::SignatureToken,
                    token: token.clone(),
                }))
            }
            None => {
                let _ = (hash_secret(access_key), hash_secret(access_secret));
                Ok(Verdict::Wrong)
            }
        },
    }
}

pub(crate) fn credential_token(presented: &Presented) -> &str {
    match presented {
        Presented::Basic { token, .. } | Presented::Bearer { token, .. } => token,
    }
}

/// The `{workspace}` segment of the matched route.
async fn workspace_segment(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound)?;
    params.remove("workspace").ok_or(ApiError::NotFound)
}

/// The TCP peer's address, when the request came over a socket.
pub(crate) fn client_address(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

pub(crate) fn too_many_requests(wait: Duration) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_seconds: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

/// Checks a presented credential within the failure budgets of its
/// client's `address` and of its token (see [`auth_failures`]): what the
/// API and the dashboard's sign-in both ask first.
pub(crate) async fn check_credential(
    state: &AppState,
    presented: &Presented,
    address: Option<IpAddr>,
) -> Result<Authenticated, ApiError> {
    state
        .auth_failures
        .admit(address)
        .map_err(too_many_requests)?;
    match authenticate(state, presented).await? {
        Verdict::Valid(authenticated) => Ok(authenticated),
        Verdict::Wrong => {
            state
                .auth_failures
                .record_failure(address, credential_token(presented))
                .map_err(too_many_requests)?;
            Err(INVALID)
        }
        Verdict::Expired => Err(ApiError::Unauthorized("The signature token has expired")),
    }
}

/// What a request's credential must allow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Reading the workspace its path names.
    Read,
    /// Administering the workspace its path names (the API key only).
    Admin,
    /// Reading the credential's own workspace, on a path that names none.
    ReadOwn,
}

/// Authenticates within the failure budgets, applies the rate limit, and
/// checks the workspace.
async fn authorize(
    parts: &mut Parts,
    state: &AppState,
    needs: Needs,
) -> Result<Authenticated, ApiError> {
    let presented = presented_credentials(parts)?;
    let authenticated = check_credential(state, &presented, client_address(parts)).await?;
    if needs == Needs::Admin && authenticated.kind != CredentialKind::ApiKey {
        return Err(ApiError::Unauthorized(
            "This endpoint needs the workspace API key (HTTP Basic); signature tokens are read-only",
        ));
    }
    state
        .rate_limiter
        .check(credential_token(&presented))
        .map_err(too_many_requests)?;
    if needs != Needs::ReadOwn
        && workspace_segment(parts, state).await? != authenticated.workspace.name.as_str()
    {
        return Err(ApiError::NotFound);
    }
    Ok(authenticated)
}

impl FromRequestParts<AppState> for ReadAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authenticated = authorize(parts, state, Needs::Read).await?;
        Ok(ReadAccess {
            workspace: authenticated.workspace,
            credential: authenticated.kind,
            workspace_version: authenticated.workspace_version,
        })
    }
}

impl FromRequestParts<AppState> for AdminAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authenticated = authorize(parts, state, Needs::Admin).await?;
        Ok(AdminAccess {
            workspace: authenticated.workspace,
            token: authenticated.token,
        })
    }
}

impl FromRequestParts<AppState> for OwnWorkspaceAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authenticated = authorize(parts, state, Needs::ReadOwn).await?;
        Ok(OwnWorkspaceAccess {
            workspace: authenticated.workspace,
        })
    }
}
