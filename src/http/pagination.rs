//! Paging as Mode's batch endpoints do it: `page`, `per_page`,
//! `include_spaces`, a `pagination` object and `_links`.

use std::collections::HashMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use super::error::ApiError;
use crate::domain::stats::SpaceFilter;
use crate::storage::PageRequest;

pub const DEFAULT_PER_PAGE: u64 = 1000;
pub const MAX_PER_PAGE: u64 = 1000;
/// The largest `page`: the int64 maximum the OpenAPI document declares, so
/// that every client's integer type can hold what the server echoes.
pub const MAX_PAGE: u64 = i64::MAX as u64;

/// The listing parameters of a batch GET; unknown parameters are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListingParams {
    pub page: PageRequest,
    pub filter: SpaceFilter,
    /// Whether the request said `include_spaces=all` (links repeat it).
    include_spaces_given: bool,
}

impl ListingParams {
    pub fn new(page: PageRequest, filter: SpaceFilter) -> Self {
        ListingParams {
            page,
            filter,
            include_spaces_given: filter == SpaceFilter::All,
        }
    }

    pub fn parse(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let page = match query.get("page") {
            None => 1,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|page| (1..=MAX_PAGE).contains(page))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "`page` must be an integer from 1 to {MAX_PAGE}, got `{text}`"
                    ))
                })?,
        };
        let per_page = match query.get("per_page") {
            None => DEFAULT_PER_PAGE,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|per_page| (1..=MAX_PER_PAGE).contains(per_page))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "`per_page` must be an integer from 1 to {MAX_PER_PAGE}, got `{text}`"
                    ))
                })?,
        };
        let filter = space_filter(query)?;
        let include_spaces_given = filter == SpaceFilter::All;
        Ok(ListingParams {
            page: PageRequest { page, per_page },
            filter,
            include_spaces_given,
        })
    }
}

/// Which reports `include_spaces` asks for: personal spaces only with `all`.
pub fn space_filter(query: &HashMap<String, String>) -> Result<SpaceFilter, ApiError> {
    match query.get("include_spaces").map(String::as_str) {
        None => Ok(SpaceFilter::ExcludePersonal),
        Some("all") => Ok(SpaceFilter::All),
        Some(other) => Err(ApiError::BadRequest(format!(
            "`include_spaces` must be `all` or absent, got `{other}`"
        ))),
    }
}

/// Where this page sits in the listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
    pub count: u64,
    pub total_pages: u64,
    pub total_count: u64,
}

/// The query parameters every batch listing takes, as the OpenAPI document
/// shows them ([`ListingParams::parse`] reads them, with its own messages).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListingQuery {
    /// 1-based page number; default 1.
    #[param(minimum = 1, maximum = 9_223_372_036_854_775_807_i64)]
    page: Option<u64>,
    /// Rows per page, 1 to 1000; default 1000.
    #[param(minimum = 1, maximum = 1000)]
    per_page: Option<u64>,
    /// `all` to include members' personal spaces (and, for reports and
    /// report_stats, the reports in them). Any other value is a 400.
    #[param(inline)]
    include_spaces: Option<IncludeSpaces>,
}

/// The one value `include_spaces` takes.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum IncludeSpaces {
    All,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Link {
    pub href: String,
}

/// What a path segment carries as it is: RFC 3986's unreserved characters.
/// Anything else in a token (`/`, `?`, `#`, `%`, a space, non-ASCII) is
/// percent-encoded, so the URL names the token and nothing more.
const PATH_SEGMENT_ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `/api/{workspace}/{collection}/{token}`: where a listed report or space
/// is served, as `report_url` and `space_url` give it.
pub fn api_url(workspace: &str, collection: &str, token: &str) -> String {
    format!("/api/{workspace}/{collection}/{}", path_segment(token))
}

/// `text` as one path segment, percent-encoded where it must be.
pub fn path_segment(text: &str) -> String {
    utf8_percent_encode(text, PATH_SEGMENT_ENCODED).to_string()
}

/// `next_page` and `prev_page`, each present only when there is such a page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Links {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_page: Option<Link>,
}

/// The `pagination` object and `_links` of one page of `path`.
pub fn paginate(
    path: &str,
    params: ListingParams,
    count: usize,
    total_count: u64,
) -> (Pagination, Links) {
    paginate_keeping(path, params, &[], count, total_count)
}

/// What a query parameter's value carries as it is in a link.
const QUERY_VALUE_ENCODED: &AsciiSet = PATH_SEGMENT_ENCODED;

/// `text` as a query parameter's value in a link, percent-encoded where it
/// must be.
pub fn query_value(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE_ENCODED).to_string()
}

/// [`paginate`], the links also keeping the parameters `kept` (a listing's
/// sort and filters), in that order after the paging ones.
pub fn paginate_keeping(
    path: &str,
    params: ListingParams,
    kept: &[(&str, String)],
    count: usize,
    total_count: u64,
) -> (Pagination, Links) {
    let PageRequest { page, per_page } = params.page;
    let total_pages = total_count.div_ceil(per_page);
    let href = |page: u64| {
        let mut href = format!("{path}?page={page}&per_page={per_page}");
        if params.include_spaces_given {
            href.push_str("&include_spaces=all");
        }
        for (name, value) in kept {
            href.push_str(&format!("&{name}={}", query_value(value)));
        }
        Link { href }
    };
    let links = Links {
        next_page: (page < total_pages).then(|| href(page + 1)),
        prev_page: (page > 1).then(|| href(page - 1)),
    };
    let pagination = Pagination {
        page,
        per_page,
        count: count as u64,
        total_pages,
        total_count,
    };
    (pagination, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Result<ListingParams, ApiError> {
        let query = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ListingParams::parse(&query)
    }

    #[test]
    fn defaults_are_page_one_of_a_thousand_without_personal_spaces() {
        let parsed = params(&[("utm_source", "x")]).unwrap();
        assert_eq!(
            parsed.page,
            PageRequest {
                page: 1,
                per_page: 1000
            }
        );
        assert_eq!(parsed.filter, SpaceFilter::ExcludePersonal);
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_parameter() {
        for (key, value) in [
            ("page", "0"),
            ("page", "-1"),
            ("page", "one"),
            ("page", "9223372036854775808"),
            ("per_page", "0"),
            ("per_page", "1001"),
            ("per_page", ""),
            ("include_spaces", "personal"),
            ("include_spaces", ""),
        ] {
            let Err(ApiError::BadRequest(message)) = params(&[(key, value)]) else {
                panic!("{key}={value} should be refused");
            };
            assert!(message.starts_with(&format!("`{key}`")), "{message}");
        }
    }

    #[test]
    fn links_point_at_neighbouring_pages_and_keep_the_parameters() {
        let parsed =
            params(&[("page", "2"), ("per_page", "10"), ("include_spaces", "all")]).unwrap();
        let (pagination, links) = paginate("/batch/acme/report_stats", parsed, 10, 35);
        assert_eq!(pagination.total_pages, 4);
        assert_eq!(
            links.next_page.unwrap().href,
            "/batch/acme/report_stats?page=3&per_page=10&include_spaces=all"
        );
        assert_eq!(
            links.prev_page.unwrap().href,
            "/batch/acme/report_stats?page=1&per_page=10&include_spaces=all"
        );
    }

    #[test]
    fn api_urls_percent_encode_the_token_and_only_the_token() {
        assert_eq!(
            api_url("acme", "reports", "728f6328ea67"),
            "/api/acme/reports/728f6328ea67"
        );
        assert_eq!(
            api_url("acme", "spaces", "a/b?c#d e%~_.-é"),
            "/api/acme/spaces/a%2Fb%3Fc%23d%20e%25~_.-%C3%A9"
        );
    }

    #[test]
    fn an_empty_listing_has_no_pages_and_no_links() {
        let (pagination, links) = paginate("/x", params(&[]).unwrap(), 0, 0);
        assert_eq!(pagination.total_pages, 0);
        assert_eq!(links, Links::default());
    }

    #[test]
    fn a_page_past_the_end_links_back_but_not_forward() {
        let (_, links) = paginate(
            "/x",
            params(&[("page", "9"), ("per_page", "5")]).unwrap(),
            0,
            12,
        );
        assert!(links.next_page.is_none());
        assert_eq!(links.prev_page.unwrap().href, "/x?page=8&per_page=5");
    }
}
