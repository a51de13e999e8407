//! Exports of the batch listings (SPEC section 8, "Export and caching"):
//! the whole listing, every page of it, as CSV or NDJSON, streamed.
//!
//! # Asking for one
//!
//! `format=csv` or `format=ndjson` asks for an export; `format=json`, or
//! no `format`, for the JSON page as before. Without `format`, `Accept`
//! decides: `text/csv` or `application/x-ndjson` preferred to JSON (a
//! higher `q`, or named where JSON is only matched by a wildcard) asks for
//! that export; anything else (`*/*`, `application/json`, a type no answer
//! has) is the JSON page. `format` wins over `Accept`, and any other value
//! of it is a 400 naming it. An export reads every page: `page` and
//! `per_page` are still checked, as on the JSON page, but shape nothing;
//! `include_spaces` and the listing's other filters apply as they do to its
//! pages.
//!
//! # The rows
//!
//! NDJSON (`application/x-ndjson`): one line per row, the row exactly as
//! the JSON page shows it.
//!
//! CSV (`text/csv; charset=utf-8`): RFC 4180, written by the `csv` crate
//! (CRLF line ends; a field holding `"`, `,`, CR or LF is quoted, its
//! quotes doubled). The first line names the row's JSON fields in their
//! JSON order (the order of the row type's schema, which `utoipa`'s
//! `preserve_order` keeps as declared). Each cell is its field's value: a
//! string as it is; a number or a boolean as JSON writes it; `null` as an
//! empty cell; a list as its elements joined with `;`, each element as a
//! cell would be (so an email list reads `ann@acme.com;bob@acme.com`, and an
//! empty list is an empty cell; an element holding `;` is not escaped:
//! NDJSON keeps lists as lists); an object as its compact JSON.
//! A text cell (a string, or a list) that starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return is written after a `'`, so that a spreadsheet
//! opening the file shows it as text instead of running it as a formula
//! (a report named `=HYPERLINK(...)`); NDJSON keeps every value as it is.
//!
//! # Memory and time
//!
//! The listing is read [`EXPORT_PAGE_ROWS`] rows at a time, and each page
//! is written to the body as soon as it is read: an export holds one page,
//! whatever the size of the listing. Each page must cost what its rows
//! cost, not what the rows before it do, or an export costs the square of
//! its pages (a million reports by `OFFSET` did not end in six minutes):
//! the report listings find a page's start from the positions they keep
//! (`storage::listing_version`), and `report_usage`, whose sorts have no
//! such positions, starts each page after the last row of the one before
//! (`storage::report_usage`'s pages after a cursor). Spaces and members,
//! a row per space or person, page by number. The next page is read only
//! when the client has taken the last one, so a slow client slows the
//! export down, and a client that goes away ends it, once the page being
//! read is in: a page's read is never abandoned halfway, which on
//! PostgreSQL could leave a pooled connection inside its transaction for
//! the next request to trip on. The first page is
//! read before the answer begins, within the request timeout; the rest
//! takes as long as it takes.
//!
//! # Errors
//!
//! An error reading the first page is an ordinary error answer (a 503 when
//! the database is busy, a 500...). Once the answer has begun its status
//! cannot change, so an error reading a later page is logged, with the
//! request's id, and ends the body with an error: the connection is closed
//! before the chunked body's last chunk, and the client sees a failed,
//! truncated transfer (curl: "transfer closed with outstanding read data
//! remaining", exit code 18), never a shorter file that looks complete.
//!
//! # Consistency
//!
//! Each page is read on its own, as a client walking the JSON pages reads
//! them: a batch stored while an export streams may show in its later
//! pages and not in its earlier ones (a row can then be missing or twice).
//! Such a body is never confirmed by a later 304: its tag holds the
//! workspace's version from before that batch, which the batch changed.
//!
//! # The `ETag` of an export, and why it is exact
//!
//! The tag must be sent before the body is read, so it is not a hash of
//! the body but of everything that decides it ([`export_tag`]): the
//! workspace (id and name, which is in the URLs rows carry), the listing,
//! the format, every parameter that selects or orders rows, the
//! workspace's version read with the credential, the instant the rows are
//! computed for when they depend on the clock, and this server process.
//! The version is bumped in the same transaction as every batch that stores
//! an event, and the rows are a function of the stored events, the
//! parameters and that instant, computed by this process's code and
//! settings: so two answers with the same tag have the same body. A listing
//! that depends on the clock (`report_stats`, whose recent window moves)
//! puts the current instant in its tag, so that its tag changes from one
//! request to the next unless the clock is stopped (`--frozen-clock`);
//! proving the window left every row unchanged would need the rows first.
//! The process goes into the tag because a restart may bring other code,
//! other settings or a migrated schema under the same version: a restarted
//! server, or another one behind the same load balancer, answers 200 where
//! a 304 would have been right, never the reverse.
//!
//! # Exporting a listing
//!
//! A handler gets a [`Representation`] with its other extractors and, for
//! [`Representation::Export`], answers with [`ExportRequest::answer`],
//! giving an [`Exportable`]: the listing's name, the parameters that decide
//! its rows, the instant they are computed for if they depend on the clock,
//! and how to read page N of its rows, in the type the JSON page lists
//! (`Serialize` and `ToSchema`, the schema an object whose properties are
//! its fields):
//!
//! ```ignore
//! async fn list_report_usage(
//!     State(state): State<AppState>,
//!     access: ReadAccess,
//!     Query(query): Query<HashMap<String, String>>,
//!     representation: Representation,
//! ) -> Result<Response, ApiError> {
//!     let params = UsageParams::parse(&query)?; // sort, filters, page
//!     if let Representation::Export(export) = representation {
//!         let (store, workspace, now) = (state.store.clone(), access.workspace.id, state.clock.now());
//!         let exportable = Exportable {
//!             resource: "report_usage",
//!             parameters: format!("{:?}", params.without_page()),
//!             as_of: Some(now), // its day windows depend on the clock
//!             fetch_page: move |page: PageRequest| {
//!                 let store = store.clone();
//!                 async move {
//!                     let rows = store.report_usage(workspace, params.at(page), now).await?;
//!                     Ok(rows.items.into_iter().map(ReportUsage::from).collect::<Vec<_>>())
//!                 }
//!             },
//!         };
//!         return export.answer(&state, &access, exportable).await;
//!     }
//!     // ... the JSON page, as before
//! }
//! ```
//!
//! and adds [`ExportQuery`] and [`Preconditions`] to its `params(...)` and
//! the CSV, NDJSON and 304 answers to its `responses(...)`, as the
//! listings in this folder do.

use std::collections::HashMap;
use std::future::Future;
use std::sync::LazyLock;

use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream;
use serde::Serialize;
use tracing::Instrument;
use utoipa::ToSchema;

use super::AppState;
use super::auth::ReadAccess;
use super::conditional::{TagHasher, if_none_match_names, not_modified};
use super::error::ApiError;
use super::extract::query_of;
use crate::domain::Timestamp;
use crate::storage::PageRequest;

mod accept;
mod rows;

use accept::accepted_export;
use rows::RowWriter;

/// Rows an export reads from the store at a time: the JSON listing's
/// largest page. ([`Settings::export_page_rows`](super::Settings), which
/// tests make smaller to cross pages with few rows.)
pub const EXPORT_PAGE_ROWS: u64 = 1000;

/// This process, in every export's tag (see the module's documentation).
static PROCESS: LazyLock<[u8; 16]> = LazyLock::new(rand::random);

/// The file formats of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    /// As `format=` names it, and the file name's extension.
    fn name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }
}

/// What a batch listing's GET asks for: its JSON page, or an export.
pub enum Representation {
    Json,
    Export(ExportRequest),
}

/// A request for an export: its format and its `If-None-Match`.
pub struct ExportRequest {
    format: ExportFormat,
    request_headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for Representation {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query: HashMap<String, String> = query_of(&parts.uri)?;
        let format = match query.get("format").map(String::as_str) {
            Some("json") => None,
            Some("csv") => Some(ExportFormat::Csv),
            Some("ndjson") => Some(ExportFormat::Ndjson),
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "`format` must be `json`, `csv` or `ndjson`, got `{other}`"
                )));
            }
            None => accepted_export(&parts.headers),
        };
        Ok(match format {
            None => Representation::Json,
            Some(format) => {
                let mut request_headers = HeaderMap::new();
                for value in parts.headers.get_all(header::IF_NONE_MATCH) {
                    request_headers.append(header::IF_NONE_MATCH, value.clone());
                }
                Representation::Export(ExportRequest {
                    format,
                    request_headers,
                })
            }
        })
    }
}

/// A listing an export can read: see the module's documentation.
pub struct Exportable<Fetch> {
    /// The listing's name, as its path ends: `reports`, `report_usage`. It
    /// names the file (`{workspace}-{resource}.csv`).
    pub resource: &'static str,
    /// Everything besides the workspace, its version and the page that
    /// decides which rows the listing has and in which order (`include_spaces`,
    /// filters, sort, settings such as the recent window), written the same
    /// way whenever it is the same: the `Debug` text of the parsed
    /// parameters does. It goes into the export's tag.
    pub parameters: String,
    /// The instant the rows are computed for, when they depend on the clock
    /// (then `fetch_page` must compute every page for this same instant);
    /// `None` when they depend on the stored events alone.
    pub as_of: Option<Timestamp>,
    /// Reads one page of rows (`page` from 1) in the listing's order. A
    /// page shorter than `per_page` is the last.
    pub fetch_page: Fetch,
}

impl ExportRequest {
    /// A CSV export, unconditional: the dashboard's download link.
    pub fn csv() -> Self {
        ExportRequest {
            format: ExportFormat::Csv,
            request_headers: HeaderMap::new(),
        }
    }

    /// The whole listing, streamed in this request's format, or a 304 when
    /// the request's `If-None-Match` names the export's tag.
    pub async fn answer<Row, Fetch, Fut>(
        self,
        state: &AppState,
        access: &ReadAccess,
        exportable: Exportable<Fetch>,
    ) -> Result<Response, ApiError>
    where
        Row: Serialize + ToSchema + Send + 'static,
        Fetch: Fn(PageRequest) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<Row>, ApiError>> + Send + 'static,
    {
        let format = self.format;
        let workspace = access.workspace.name.to_string();
        let filename = format!("{workspace}-{}.{}", exportable.resource, format.name());
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                .map_err(|error| ApiError::Internal(error.into()))?,
        );
        headers.insert(header::ETAG, export_tag(access, format, &exportable));
        headers.insert(header::VARY, HeaderValue::from_static("accept"));
        if if_none_match_names(&self.request_headers, &headers[header::ETAG]) {
            return Ok(not_modified(&headers));
        }

        let cursor = Cursor {
            writer: RowWriter::new::<Row>(format)?,
            per_page: state.settings.export_page_rows.max(1),
            next_page: 1,
            fetch_page: exportable.fetch_page,
            resource: exportable.resource,
            workspace,
        };
        let body = cursor.into_body().await?;
        Ok((StatusCode::OK, headers, body).into_response())
    }
}

/// The export's entity tag: exact for the reasons the module's
/// documentation gives.
fn export_tag<Fetch>(
    access: &ReadAccess,
    format: ExportFormat,
    exportable: &Exportable<Fetch>,
) -> HeaderValue {
    let as_of = exportable
        .as_of
        .map(|instant| instant.as_micros().to_be_bytes().to_vec())
        .unwrap_or_default();
    TagHasher::new("export")
        .field(*PROCESS)
        .field(access.workspace.id.to_be_bytes())
        .field(access.workspace.name.as_str())
        .field(exportable.resource)
        .field(format.name())
        .field(&exportable.parameters)
        .field(access.workspace_version.to_be_bytes())
        .field(as_of)
        .finish()
}

/// Where an export is in its listing.
struct Cursor<Fetch> {
    fetch_page: Fetch,
    next_page: u64,
    per_page: u64,
    writer: RowWriter,
    resource: &'static str,
    workspace: String,
}

impl<Row, Fetch, Fut> Cursor<Fetch>
where
    Row: Serialize + Send + 'static,
    Fetch: Fn(PageRequest) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<Row>, ApiError>> + Send + 'static,
{
    /// The export's body: the first page is read now, so that its errors
    /// are the answer's; the others as the client takes the body.
    async fn into_body(mut self) -> Result<Body, ApiError> {
        let (first, more) = self.next_chunk().await?.unwrap_or_default();
        // Only data: an empty chunk could read as the body's end.
        let first = stream::iter((!first.is_empty()).then_some(Ok::<_, std::io::Error>(first)));
        let rest = stream::unfold(more.then_some(self), |cursor| async move {
            let mut cursor = cursor?;
            match cursor.next_chunk().await {
                Ok(None) => None,
                Ok(Some((chunk, more))) => Some((Ok(chunk), more.then_some(cursor))),
                Err(error) => Some((Err(cursor.failed(error)), None)),
            }
        });
        Ok(Body::from_stream(first.chain(rest)))
    }

    /// The next page, written, and whether a page may follow it; `None`
    /// past the end. The first chunk starts with the CSV header, so an empty
    /// listing is its header alone.
    async fn next_chunk(&mut self) -> Result<Option<(Bytes, bool)>, ApiError> {
        let page = PageRequest {
            page: self.next_page,
            per_page: self.per_page,
        };
        // Once begun, a page's read runs to its end, even when the client
        // goes away and its body is dropped: a store's transaction is
        // never abandoned halfway (PostgreSQL's pool could otherwise hand
        // the connection, still inside it, to the next request).
        let reading = tokio::spawn((self.fetch_page)(page).in_current_span());
        let rows = reading
            .await
            .map_err(|error| ApiError::Internal(error.into()))??;
        let mut chunk = Vec::new();
        if self.next_page == 1 {
            self.writer.header(&mut chunk)?;
        } else if rows.is_empty() {
            return Ok(None);
        }
        self.next_page += 1;
        self.writer.rows(&rows, &mut chunk)?;
        let more = rows.len() as u64 == self.per_page;
        Ok(Some((Bytes::from(chunk), more)))
    }

    /// Logs an error met after the answer began, and what ends its body.
    fn failed(&self, error: ApiError) -> std::io::Error {
        let cause = match &error {
            ApiError::Internal(cause) => format!("{cause:#}"),
            other => other.to_string(),
        };
        tracing::error!(
            workspace = self.workspace,
            resource = self.resource,
            page = self.next_page,
            error = cause,
            "an export failed after its answer began; its body ends with an error"
        );
        std::io::Error::other(format!("the export stopped at page {}", self.next_page))
    }
}

/// The query parameter that asks for an export, as the OpenAPI document
/// shows it ([`Representation`] reads it, with its own message).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportQuery {
    /// `csv` or `ndjson`: the whole listing, every page of it (`page` and
    /// `per_page` are checked but shape nothing; `include_spaces` applies),
    /// streamed as a file (`Content-Disposition: attachment;
    /// filename="{workspace}-{resource}.csv"`). CSV has a header row of the
    /// JSON field names, lists joined with `;` and `null` as an empty
    /// field; NDJSON has one JSON row a line. `json` (the default): the page
    /// as JSON. Without `format`, `Accept: text/csv` or `Accept:
    /// application/x-ndjson` asks for an export; `format` wins over
    /// `Accept`. Any other value is a 400.
    #[param(inline)]
    format: Option<FormatName>,
}

/// The values `format` takes.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum FormatName {
    Json,
    Csv,
    Ndjson,
}

/// The conditional request headers the listings answer, as the OpenAPI
/// document shows them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct Preconditions {
    /// Entity tags from earlier answers (`"..."`, `W/"..."`, a list of
    /// them, or `*`): when one is this answer's `ETag`, the answer is 304
    /// Not Modified with no body.
    #[param(rename = "If-None-Match", value_type = String, required = false)]
    if_none_match: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, ToSchema)]
    struct Sample {
        zeta: i64,
        alpha: Option<String>,
        emails: Vec<String>,
    }

    fn sample(zeta: i64) -> Sample {
        Sample {
            zeta,
            alpha: Some(format!("row, \"{zeta}\"")),
            emails: Vec::new(),
        }
    }

    /// A listing of `rows` rows, read 2 at a time, whose page `failing`
    /// (if any) fails.
    fn cursor(
        rows: u64,
        failing: Option<u64>,
    ) -> Cursor<impl Fn(PageRequest) -> std::future::Ready<Result<Vec<Sample>, ApiError>>> {
        Cursor {
            fetch_page: move |page: PageRequest| {
                std::future::ready(if Some(page.page) == failing {
                    Err(ApiError::Unavailable)
                } else {
                    let start = (page.page - 1) * page.per_page;
                    let end = rows.min(start + page.per_page);
                    Ok((start..end).map(|zeta| sample(zeta as i64)).collect())
                })
            },
            next_page: 1,
            per_page: 2,
            writer: RowWriter::new::<Sample>(ExportFormat::Csv).unwrap(),
            resource: "samples",
            workspace: "acme".into(),
        }
    }

    async fn chunks(body: Body) -> Vec<Result<String, String>> {
        body.into_data_stream()
            .map(|chunk| {
                chunk
                    .map(|bytes| String::from_utf8(bytes.to_vec()).unwrap())
                    .map_err(|error| error.to_string())
            })
            .collect()
            .await
    }

    #[tokio::test]
    async fn the_body_is_one_chunk_a_page_and_the_header_alone_when_empty() {
        let body = cursor(4, None).into_body().await.unwrap();
        assert_eq!(
            chunks(body).await,
            [
                Ok(
                    "zeta,alpha,emails\r\n0,\"row, \"\"0\"\"\",\r\n1,\"row, \"\"1\"\"\",\r\n"
                        .into()
                ),
                Ok("2,\"row, \"\"2\"\"\",\r\n3,\"row, \"\"3\"\"\",\r\n".into()),
            ],
            "the empty third page adds nothing"
        );
        let body = cursor(0, None).into_body().await.unwrap();
        assert_eq!(chunks(body).await, [Ok("zeta,alpha,emails\r\n".into())]);
    }

    #[tokio::test]
    async fn an_error_before_the_body_is_the_answer_and_after_it_ends_the_body() {
        assert!(matches!(
            cursor(5, Some(1)).into_body().await,
            Err(ApiError::Unavailable)
        ));
        let body = cursor(5, Some(2)).into_body().await.unwrap();
        let chunks = chunks(body).await;
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert!(chunks[0].is_ok());
        assert!(chunks[1].is_err(), "the body ends with an error");
    }

    #[test]
    fn csv_columns_are_the_fields_in_their_declared_order() {
        let writer = RowWriter::new::<Sample>(ExportFormat::Csv).unwrap();
        let mut out = Vec::new();
        writer.header(&mut out).unwrap();
        let row = Sample {
            zeta: 1,
            alpha: None,
            emails: vec!["a@x.com".into(), "b@x.com".into()],
        };
        writer.rows(&[row], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "zeta,alpha,emails\r\n1,,a@x.com;b@x.com\r\n"
        );
    }
}
