//! Signing in and out (SPEC section 9): `GET /` sends a visitor to their
//! workspace or to the form, `POST /sign-in` checks a credential exactly as
//! the API does (within the same failure budgets) and opens a session,
//! `POST /sign-out` ends it.
//!
//! Credentials come in a form body only, never in a URL. A form posted from
//! another origin is refused: a page elsewhere must not sign a browser in
//! (or out) behind its user's back. A wrong credential gets the form again
//! after [`FAILED_SIGN_IN_DELAY`], on top of the failure budgets, so that
//! guessing is slow.

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{PageError, render, ui_base};
use super::session::{
    self, cleared_cookie, cookie_of, session_cookie, signed_in_workspace, through_https,
};
use crate::http::AppState;
use crate::http::auth::{Presented, check_credential, client_address, credential_token};
use crate::http::error::ApiError;

/// How long a wrong credential waits for its answer.
pub const FAILED_SIGN_IN_DELAY: Duration = Duration::from_secs(1);

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    error: Option<String>,
}

fn form_page(status: StatusCode, error: Option<String>) -> Response {
    match render(&SignInPage { error }) {
        Ok(page) => (status, page).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /`: the signed-in workspace's overview, or the form.
pub async fn home(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    match signed_in_workspace(&state, &parts).await {
        Some(workspace) => Redirect::to(&ui_base(&workspace)).into_response(),
        None => Redirect::to("/sign-in").into_response(),
    }
}

/// `GET /sign-in`.
pub async fn form() -> Response {
    form_page(StatusCode::OK, None)
}

/// Whether a form post comes from this server's own pages: its `Origin`
/// (which browsers send with every form post) names the host it was sent
/// to. Without an `Origin`, `Sec-Fetch-Site` speaks for the browser; a
/// client that sends neither is not a browser another site could drive.
fn same_origin(headers: &HeaderMap) -> bool {
    let header_text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    match header_text(header::ORIGIN.as_str()) {
        Some(origin) => {
            let host = header_text(header::HOST.as_str()).unwrap_or_default();
            let own = |scheme: &str| origin.eq_ignore_ascii_case(&format!("{scheme}://{host}"));
            !host.is_empty() && (own("http") || own("https"))
        }
        None => {
            header_text("sec-fetch-site").is_none_or(|site| site == "same-origin" || site == "none")
        }
    }
}

fn cross_origin() -> Response {
    PageError(ApiError::Forbidden(
        "This form was sent from another site; sign in from this server's own page",
    ))
    .into_response()
}

/// The credential a sign-in form carries: a workspace API key (`token`,
/// `secret`) or a signature token (`token`, `access_key`, `access_secret`).
fn presented(form: &HashMap<String, String>) -> Option<Presented> {
    let field = |name: &str| form.get(name).map(|value| value.trim().to_owned());
    let token = field("token").filter(|token| !token.is_empty())?;
    match (field("secret"), field("access_key"), field("access_secret")) {
        (Some(secret), None, None) => Some(Presented::Basic { token, secret }),
        (None, Some(access_key), Some(access_secret)) => Some(Presented::Bearer {
            token,
            access_key,
            access_secret,
        }),
        _ => None,
    }
}

const INCOMPLETE: &str =
    "Fill in a token with its secret, or a signature token with its access key and secret.";

/// `POST /sign-in`.
pub async fn sign_in(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts.headers) {
        return cross_origin();
    }
    let request = Request::from_parts(parts.clone(), body);
    let form: Result<Form<HashMap<String, String>>, FormRejection> =
        Form::from_request(request, &state).await;
    let Some(presented) = form.ok().and_then(|Form(form)| presented(&form)) else {
        return form_page(StatusCode::BAD_REQUEST, Some(INCOMPLETE.into()));
    };
    let address = client_address(&parts);
    match check_credential(&state, &presented, address).await {
        Ok(authenticated) => {
            let token = credential_token(&presented);
            let workspace = &authenticated.workspace;
            let cookie = match session::open(&state, workspace, authenticated.kind, token).await {
                Ok(cookie) => cookie,
                Err(error) => return PageError(error).into_response(),
            };
            let secure = through_https(&parts);
            let mut response = Redirect::to(&ui_base(workspace.name.as_str())).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&cookie, secure));
            response
        }
        Err(ApiError::TooManyRequests {
            retry_after_seconds,
        }) => {
            let mut response = form_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many failed sign-ins from here; try again in {retry_after_seconds} s."
                )),
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                retry_after_seconds.to_string().parse().expect("digits"),
            );
            response
        }
        Err(ApiError::Unauthorized(reason)) => {
            tokio::time::sleep(FAILED_SIGN_IN_DELAY).await;
            let message = if reason.contains("expired") {
                "That signature token has expired. Ask for a new one.".to_owned()
            } else {
                "Those credentials are not valid. Check the token and its secret.".to_owned()
            };
            // The form again, as a page (a 401 would need a challenge no
            // browser should answer).
            form_page(StatusCode::OK, Some(message))
        }
        Err(other) => PageError(other).into_response(),
    }
}

/// `POST /sign-out`: ends the session, wherever the browser is.
pub async fn sign_out(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    if !same_origin(&parts.headers) {
        return cross_origin();
    }
    if let Some(cookie) = cookie_of(&parts)
        && let Err(error) = session::close(&state, &cookie).await
    {
        return PageError(error).into_response();
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cleared_cookie());
    response
}
