//! Dashboard sessions (SPEC section 9): a random cookie names a session
//! tied to one workspace and the credential that signed in. It ends after
//! [`SESSION_HOURS`], at sign-out, and at once when that credential is
//! revoked or expires, since every page checks the credential again, with
//! the same store lookups the API makes.
//!
//! Sessions are stored in the database ([`crate::storage::sessions`]), so
//! that every server over it knows them and a sign-out ends a session on
//! all of them; the cookie's value is kept only as its SHA-256, like every
//! other secret at rest.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::header::{COOKIE, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::page::PageError;
use crate::http::AppState;
use crate::http::auth::{CredentialKind, ReadAccess};
use crate::http::error::ApiError;
use crate::storage::Workspace;
use crate::storage::sessions::{SessionRecord, StoredSession};

/// How long a session lasts at most.
pub const SESSION_HOURS: i64 = 12;
const SESSION_SECONDS: i64 = SESSION_HOURS * 3_600;

/// The cookie's name.
pub const COOKIE_NAME: &str = "reportstats_session";

fn key_of(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

fn kind_name(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ApiKey => "api_key",
        CredentialKind::SignatureToken => "signature_token",
    }
}

fn kind_named(name: &str) -> Option<CredentialKind> {
    match name {
        "api_key" => Some(CredentialKind::ApiKey),
        "signature_token" => Some(CredentialKind::SignatureToken),
        _ => None,
    }
}

/// Opens a session for a credential that just checked out; returns the
/// cookie's value.
pub async fn open(
    state: &AppState,
    workspace: &Workspace,
    kind: CredentialKind,
    token: &str,
) -> Result<String, ApiError> {
    let cookie = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let now = state.clock.now();
    let record = SessionRecord {
        key: key_of(&cookie),
        workspace: workspace.id,
        credential_kind: kind_name(kind).to_owned(),
        credential_token: token.to_owned(),
        started_at: now,
    };
    let expired_before = now.saturating_add_seconds(-SESSION_SECONDS);
    state.store.open_session(&record, expired_before).await?;
    Ok(cookie)
}

/// Ends the session this cookie names, if any.
pub async fn close(state: &AppState, cookie: &str) -> Result<(), ApiError> {
    Ok(state.store.close_session(key_of(cookie)).await?)
}

/// The open session this cookie names: stored, and not 12 hours old.
async fn find(state: &AppState, cookie: &str) -> Result<Option<StoredSession>, ApiError> {
    let Some(session) = state.store.session(key_of(cookie)).await? else {
        return Ok(None);
    };
    let ends = session.started_at.saturating_add_seconds(SESSION_SECONDS);
    if state.clock.now() >= ends {
        close(state, cookie).await?;
        return Ok(None);
    }
    Ok(Some(session))
}

/// The `Set-Cookie` value of a new session. `Secure` when the request came
/// through HTTPS (a proxy in front says so in `X-Forwarded-Proto`): over
/// plain HTTP on 127.0.0.1 a browser would refuse to send it back.
pub fn session_cookie(value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_HOURS * 3_600
    ))
    .expect("a cookie of base64url characters")
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .expect("a cookie without a value")
}

/// Whether the request came through HTTPS.
pub fn through_https(parts: &Parts) -> bool {
    parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// The session cookie's value, if the request carries one.
pub fn cookie_of(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME && !value.is_empty()).then(|| value.to_owned())
        })
}

/// A request from a signed-in person, for the workspace in its path: the
/// same access an API request with that credential would have.
pub struct SignedIn {
    pub access: ReadAccess,
}

/// Why a page is not shown: not signed in (to the sign-in form), or an
/// error page.
pub enum NotShown {
    SignIn,
    Error(PageError),
}

impl IntoResponse for NotShown {
    fn into_response(self) -> Response {
        match self {
            NotShown::SignIn => Redirect::to("/sign-in").into_response(),
            NotShown::Error(error) => error.into_response(),
        }
    }
}

impl From<ApiError> for NotShown {
    fn from(error: ApiError) -> Self {
        NotShown::Error(PageError(error))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = NotShown;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cookie = cookie_of(parts).ok_or(NotShown::SignIn)?;
        let now = state.clock.now();
        let session = find(state, &cookie).await?.ok_or(NotShown::SignIn)?;
        let kind = kind_named(&session.credential_kind).ok_or(NotShown::SignIn)?;
        let token = &session.credential_token;
        // The credential again, as the API would check it: revoked or
        // expired, the session ends here.
        let live = match kind {
            CredentialKind::ApiKey => state
                .store
                .api_key(token)
                .await
                .map_err(ApiError::from)?
                .map(|key| (key.workspace, key.workspace_version)),
            CredentialKind::SignatureToken => state
                .store
                .signature_token(token)
                .await
                .map_err(ApiError::from)?
                .filter(|stored| stored.record.expires_at > now)
                .map(|stored| (stored.workspace, stored.workspace_version)),
        };
        let Some((workspace, workspace_version)) =
            live.filter(|(workspace, _)| workspace.id == session.workspace.id)
        else {
            close(state, &cookie).await?;
            return Err(NotShown::SignIn);
        };
        state
            .rate_limiter
            .check(token)
            .map_err(crate::http::auth::too_many_requests)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        // Another workspace's pages are not found, as in the API.
        if params.get("workspace").map(String::as_str) != Some(workspace.name.as_str()) {
            return Err(ApiError::NotFound.into());
        }
        Ok(SignedIn {
            access: ReadAccess {
                workspace,
                credential: kind,
                workspace_version,
            },
        })
    }
}

/// The workspace a cookie's session is for, if it is open (where `GET /`
/// sends a visitor).
pub async fn signed_in_workspace(state: &AppState, parts: &Parts) -> Option<String> {
    let cookie = cookie_of(parts)?;
    let session = find(state, &cookie).await.ok()??;
    Some(session.workspace.name.to_string())
}
