//! `/batch/{workspace}/signature_tokens`: minting, listing and revoking
//! read-only credentials, with the workspace API key.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminAccess;
use super::error::{ApiError, ErrorBody};
use super::events::{CONTROL, WHITE_SPACE};
use super::extract::{Body, Path};
use crate::domain::Timestamp;
use crate::domain::signature_token::{
    AUTHENTICATION_FOR, AUTHORIZATION_TYPE, MintRequest, NewSignatureToken,
};
use crate::storage::SignatureTokenRecord;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_signature_token, list_signature_tokens))
        .routes(routes!(revoke_signature_token))
}

/// A signature token as listed: never its access key or secret.
#[derive(Serialize, ToSchema)]
pub struct SignatureToken {
    pub token: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// When it was revoked, or `null`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    pub authentication_for: String,
    pub authorization_type: String,
}

impl From<SignatureTokenRecord> for SignatureToken {
    fn from(record: SignatureTokenRecord) -> Self {
        SignatureToken {
            token: record.token,
            name: record.name,
            created_at: record.created_at,
            updated_at: record.updated_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            authentication_for: record.authentication_for,
            authorization_type: record.authorization_type,
        }
    }
}

/// A token just minted: the only answer that carries the access key and
/// secret.
#[derive(Serialize, ToSchema)]
pub struct MintedSignatureToken {
    pub token: String,
    pub name: String,
    pub access_key: String,
    pub access_secret: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub authentication_for: String,
    pub authorization_type: String,
}

/// The body that mints a token, as Mode's clients send it. Fields it does
/// not name are ignored. What no schema can say is in the descriptions:
/// `expires_at` must be after the server's clock, and may also be written
/// without seconds (`2027-01-01T00:00Z`).
pub struct MintSignatureToken;

impl ToSchema for MintSignatureToken {}

impl utoipa::PartialSchema for MintSignatureToken {
    fn schema() -> RefOr<Schema> {
        let one_value = |value: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([value]))
        };
        let auth_scope = ObjectBuilder::new()
            .property("authentication_for", one_value(AUTHENTICATION_FOR))
            .required("authentication_for")
            .property("authorization_type", one_value(AUTHORIZATION_TYPE))
            .required("authorization_type");
        // `name` is trimmed of white space, then must be 4 to 64 characters
        // without control characters.
        let (shortest, longest) = (
            MintRequest::NAME_CHARS.start() - 2,
            MintRequest::NAME_CHARS.end() - 2,
        );
        let name = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!(
                "^[{WHITE_SPACE}]*[^{WHITE_SPACE}{CONTROL}][^{CONTROL}]{{{shortest},{longest}}}\
                 [^{WHITE_SPACE}{CONTROL}][{WHITE_SPACE}]*$"
            )))
            .description(Some(
                "4 to 64 characters without control characters, once trimmed of white space",
            ));
        let expires_at = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "RFC 3339 (seconds may be left out), after the server's clock",
            ));
        let signature_token = ObjectBuilder::new()
            .property("name", name)
            .required("name")
            .property("expires_at", expires_at)
            .required("expires_at")
            .property("auth_scope", auth_scope)
            .required("auth_scope");
        ObjectBuilder::new()
            .property("signature_token", signature_token)
            .required("signature_token")
            .into()
    }
}

#[derive(Serialize, ToSchema)]
pub struct SignatureTokenList {
    pub signature_tokens: Vec<SignatureToken>,
}

/// Mint a read-only signature token for the batch API. The `access_secret`
/// is in this answer only.
#[utoipa::path(
    post,
    path = "/batch/{workspace}/signature_tokens",
    tag = "batch",
    params(("workspace" = String, Path, description = "The workspace's username")),
    request_body(
        content = MintSignatureToken,
        description = "Mode's body; it may be sent with `Content-Encoding: gzip` or `zstd`",
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "Minted", body = MintedSignatureToken),
        (status = 400, description = "A field is missing or wrong; the message names it", body = ErrorBody),
        (status = 401, description = "Unauthorized (needs the workspace API key)", body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "A `Content-Encoding` other than gzip or zstd", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("workspace_api_key" = []))
)]
async fn create_signature_token(
    State(state): State<AppState>,
    access: AdminAccess,
    Body(body): Body,
) -> Result<Json<MintedSignatureToken>, ApiError> {
    let now = state.clock.now();
    let request =
        MintRequest::parse(&body, now).map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let minted = NewSignatureToken::generate();
    let record = SignatureTokenRecord {
        token: minted.token.clone(),
        name: request.name,
        access_key_hash: minted.access_key_hash(),
        access_secret_hash: minted.access_secret_hash(),
        authentication_for: AUTHENTICATION_FOR.to_owned(),
        authorization_type: AUTHORIZATION_TYPE.to_owned(),
        created_at: now,
        updated_at: now,
        expires_at: request.expires_at,
        revoked_at: None,
    };
    state
        .store
        .create_signature_token(access.workspace.id, &record)
        .await?;
    tracing::info!(workspace = %access.workspace.name, token = %record.token, "minted a signature token");
    Ok(Json(MintedSignatureToken {
        token: minted.token,
        name: record.name,
        access_key: minted.access_key,
        access_secret: minted.access_secret,
        created_at: record.created_at,
        updated_at: record.updated_at,
        expires_at: record.expires_at,
        authentication_for: record.authentication_for,
        authorization_type: record.authorization_type,
    }))
}

/// List the workspace's signature tokens, revoked and expired ones included,
/// without their secrets.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/signature_tokens",
    tag = "batch",
    params(("workspace" = String, Path, description = "The workspace's username")),
    responses(
        (status = 200, body = SignatureTokenList),
        (status = 401, description = "Unauthorized (needs the workspace API key)", body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("workspace_api_key" = []))
)]
async fn list_signature_tokens(
    State(state): State<AppState>,
    access: AdminAccess,
) -> Result<Json<SignatureTokenList>, ApiError> {
    let records = state.store.signature_tokens(access.workspace.id).await?;
    Ok(Json(SignatureTokenList {
        signature_tokens: records.into_iter().map(SignatureToken::from).collect(),
    }))
}

/// Revoke a signature token; it stops working at once.
#[utoipa::path(
    delete,
    path = "/batch/{workspace}/signature_tokens/{token}",
    tag = "batch",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        ("token" = String, Path, description = "The signature token's token"),
    ),
    responses(
        (status = 200, description = "Revoked", body = SignatureToken),
        (status = 401, description = "Unauthorized (needs the workspace API key)", body = ErrorBody),
        (status = 404, description = "No such live token in this workspace", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("workspace_api_key" = []))
)]
async fn revoke_signature_token(
    State(state): State<AppState>,
    access: AdminAccess,
    Path((_, token)): Path<(String, String)>,
) -> Result<Json<SignatureToken>, ApiError> {
    let now = state.clock.now();
    if !state
        .store
        .revoke_signature_token(access.workspace.id, &token, now)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let revoked = state
        .store
        .signature_tokens(access.workspace.id)
        .await?
        .into_iter()
        .find(|record| record.token == token)
        .ok_or(ApiError::NotFound)?;
    tracing::info!(workspace = %access.workspace.name, token = %token, "revoked a signature token");
    Ok(Json(SignatureToken::from(revoked)))
}
