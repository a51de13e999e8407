//! Prometheus metrics: a layer that counts and times every request, and the
//! `/metrics` endpoint, served on a listener of its own (`--metrics-listen`)
//! so that it is never exposed where the API is.
//!
//! Everything that counts calls the `metrics` facade: this layer, the
//! storage wrapper ([`crate::storage::instrumented`]) and the page cache
//! ([`super::page_cache`]). Those calls do nothing until [`install`] sets
//! the Prometheus recorder, which only `serve` and `demo` do, and only when
//! asked. README's "Metrics and logs" lists every metric.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower::{Layer, Service};

use crate::storage::{Store, instrumented};

/// Requests answered, by `method`, `route` and `status`.
pub const REQUESTS: &str = "reportstats_http_requests_total";
/// From a request's arrival to its answer's headers, by the same labels.
pub const REQUEST_DURATION: &str = "reportstats_http_request_duration_seconds";

/// The `route` label of a request that matched no route. The path itself is
/// never a label: anyone could make as many of those as they like.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Bucket bounds, in seconds, of the latency histograms: from a cached page
/// (well under a millisecond) to the request timeout.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Bucket bounds of the batch size histogram, in events, up to the default
/// batch limit.
const BATCH_BUCKETS: &[f64] = &[1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0];

/// Bucket bounds of the group commit histogram, in batches per commit.
const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder for the whole process (there is one
/// facade, so this works once) and returns the handle that renders it.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(instrumented::BATCH_EVENTS.into()),
            BATCH_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(crate::storage::group_commit::GROUP_BATCHES.into()),
            GROUP_BUCKETS,
        )?
        .install_recorder()?;
    describe_counter!(REQUESTS, Unit::Count, "HTTP requests answered");
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its answer"
    );
    instrumented::describe_metrics();
    super::page_cache::describe_metrics();
    Ok(handle)
}

/// Counts and times each request under its route's template
/// (`/batch/{workspace}/report_stats`), which must be known, so it is
/// applied with `Router::layer` (after routing).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestMetricsLayer;

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics { inner }
    }
}

/// The service of [`RequestMetricsLayer`].
#[derive(Clone, Debug)]
pub struct RequestMetrics<S> {
    inner: S,
}

impl<S> Service<Request> for RequestMetrics<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = method_label(request.method());
        let route = request.extensions().get::<MatchedPath>().map_or_else(
            || UNMATCHED_ROUTE.to_owned(),
            |path| path.as_str().to_owned(),
        );
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            let labels = [
                ("method", method.to_owned()),
                ("route", route),
                ("status", response.status().as_str().to_owned()),
            ];
            counter!(REQUESTS, &labels).increment(1);
            histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
            Ok(response)
        })
    }
}

/// The methods the API answers, and `other` for the rest, so that a client
/// cannot make new series by inventing methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

#[derive(Clone)]
struct Exporter {
    handle: PrometheusHandle,
    store: Arc<dyn Store>,
}

/// Serves `GET /metrics` on `listener` until the future is dropped: scrapes
/// need no graceful end. `store` is asked for its connection use at each
/// scrape.
pub async fn serve_metrics(
    listener: TcpListener,
    handle: PrometheusHandle,
    store: Arc<dyn Store>,
) -> std::io::Result<()> {
    let upkeep = {
        let handle = handle.clone();
        async move {
            let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                interval.tick().await;
                handle.run_upkeep();
            }
        }
    };
    let app = Router::new()
        .route("/metrics", get(render))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(Exporter { handle, store });
    tokio::select! {
        served = axum::serve(listener, app) => served,
        () = upkeep => Ok(()),
    }
}

async fn render(State(exporter): State<Exporter>) -> impl IntoResponse {
    instrumented::record_connection_use(exporter.store.as_ref());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        exporter.handle.render(),
    )
}
