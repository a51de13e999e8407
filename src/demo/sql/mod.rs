//! The queries of reports: the data sources a workspace connects and their
//! dialects, the shapes of query analysts write (a trend, a breakdown, a
//! headline number, a funnel...), their names, the charts that suit them,
//! and their SQL.
//!
//! The plan keeps a small [`QuerySpec`] per query and version; the SQL is
//! written from it only when its line is, so that a plan of 200,000 queries
//! does not hold 100 MB of text. How the text is written, shape by shape
//! and dialect by dialect, is [`writer`].

use rand::Rng;
use rand::rngs::StdRng;

use super::random::{pick, weighted};
use super::topics::{CADENCES, Comparison, DIMENSIONS, METRICS, Metric, Topic};
use super::words::capitalized;

mod writer;

/// How a data source spells dates, JSON and table names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dialect {
    Postgres,
    Snowflake,
    BigQuery,
}

/// A database queries run against, as Mode's `data_source_token` names it.
#[derive(Debug)]
pub(crate) struct DataSource {
    pub(crate) token: &'static str,
    dialect: Dialect,
}

/// Every data source a workspace may connect. The first, the main
/// warehouse, every workspace has.
pub(crate) const DATA_SOURCES: &[DataSource] = &[
    DataSource {
        token: "warehouse",
        dialect: Dialect::Snowflake,
    },
    DataSource {
        token: "postgres_prod",
        dialect: Dialect::Postgres,
    },
    DataSource {
        token: "redshift_analytics",
        dialect: Dialect::Postgres,
    },
    DataSource {
        token: "bigquery_events",
        dialect: Dialect::BigQuery,
    },
    DataSource {
        token: "postgres_replica",
        dialect: Dialect::Postgres,
    },
    DataSource {
        token: "snowflake_finance",
        dialect: Dialect::Snowflake,
    },
];

/// What a query computes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// A metric per time bucket, perhaps per dimension too.
    Trend,
    /// A metric per value of a dimension.
    Breakdown,
    /// One number.
    Headline,
    /// Monthly actuals against the finance team's targets.
    Target,
    TopCustomers,
    Funnel,
    /// Customers still active, by signup month and months since.
    Cohorts,
    /// Raw rows, for a look or a check.
    Rows,
}

/// How often each shape is written, besides a report's first query.
const SHAPES: &[(Shape, u32)] = &[
    (Shape::Trend, 30),
    (Shape::Breakdown, 24),
    (Shape::Headline, 15),
    (Shape::Target, 6),
    (Shape::TopCustomers, 8),
    (Shape::Funnel, 4),
    (Shape::Cohorts, 5),
    (Shape::Rows, 8),
];

/// Everything a query's SQL is written from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuerySpec {
    shape: Shape,
    metric: u8,
    dimension: Option<u8>,
    cadence: u8,
    pub(crate) source: &'static DataSource,
    /// Seeds the details: comments, windows, extra filters, layout.
    variant: u32,
    /// When the text was written, for the literal dates in it.
    pub(crate) year: i32,
}

impl QuerySpec {
    /// The first query of a report: about what the report's name says.
    pub(crate) fn for_topic(
        topic: Topic,
        source: &'static DataSource,
        variant: u32,
        year: i32,
    ) -> QuerySpec {
        let (shape, dimension) = match topic.form {
            0..4 => (Shape::Trend, Some(topic.dimension)),
            4 => (Shape::Headline, None),
            5 => (Shape::Breakdown, Some(topic.dimension)),
            6 => (Shape::Funnel, None),
            7 => (Shape::Trend, None),
            8 => (Shape::Target, None),
            _ => (Shape::Rows, None),
        };
        QuerySpec {
            shape,
            metric: topic.metric,
            dimension,
            cadence: topic.cadence,
            source,
            variant,
            year,
        }
        .feasible()
    }

    /// Another query of a report about `metric`.
    pub(crate) fn draw(
        rng: &mut StdRng,
        metric: u8,
        source: &'static DataSource,
        year: i32,
    ) -> QuerySpec {
        let shape = weighted(rng, SHAPES);
        let dimension = match shape {
            Shape::Trend if rng.random_bool(0.5) => None,
            Shape::Trend | Shape::Breakdown => Some(rng.random_range(0..DIMENSIONS.len()) as u8),
            _ => None,
        };
        QuerySpec {
            shape,
            metric,
            dimension,
            cadence: rng.random_range(0..CADENCES.len()) as u8,
            source,
            variant: rng.random(),
            year,
        }
        .feasible()
    }

    /// The same query cut by another dimension, when it is cut by one.
    pub(crate) fn recut(self, rng: &mut StdRng) -> QuerySpec {
        match self.shape {
            Shape::Trend | Shape::Breakdown => QuerySpec {
                dimension: Some(rng.random_range(0..DIMENSIONS.len()) as u8),
                variant: rng.random(),
                ..self
            }
            .feasible(),
            _ => self.retouched(rng),
        }
    }

    /// The same query with other details: a filter, a window, a comment.
    pub(crate) fn retouched(self, rng: &mut StdRng) -> QuerySpec {
        QuerySpec {
            variant: rng.random(),
            ..self
        }
    }

    /// The same query moved to another data source.
    pub(crate) fn moved(self, rng: &mut StdRng, source: &'static DataSource) -> QuerySpec {
        QuerySpec {
            source,
            ..self.retouched(rng)
        }
    }

    fn metric(&self) -> &'static Metric {
        &METRICS[usize::from(self.metric)]
    }

    /// The spec made writable: a dimension the metric has, and shapes that
    /// need customers only for metrics that have them.
    fn feasible(mut self) -> QuerySpec {
        let metric = self.metric();
        if metric.customer_key.is_none()
            && matches!(self.shape, Shape::TopCustomers | Shape::Cohorts)
        {
            self.shape = Shape::Breakdown;
        }
        if self.shape == Shape::Breakdown && self.dimension.is_none() {
            self.dimension = Some(self.variant as u8 % DIMENSIONS.len() as u8);
        }
        if let Some(dimension) = self.dimension {
            if metric.dimension(usize::from(dimension)).is_none() {
                let supported: Vec<usize> = metric.dimensions().collect();
                self.dimension = (!supported.is_empty())
                    .then(|| supported[usize::from(dimension) % supported.len()] as u8);
            }
        }
        if self.shape == Shape::Breakdown && self.dimension.is_none() {
            self.shape = Shape::Headline;
        }
        self
    }

    /// A name for the query, as an analyst would give it.
    pub(crate) fn name(&self, rng: &mut StdRng) -> String {
        let metric = self.metric().label;
        let title = capitalized(metric);
        let cadence = &CADENCES[usize::from(self.cadence)];
        let by = self
            .dimension
            .map(|dimension| format!(" by {}", DIMENSIONS[usize::from(dimension)].label))
            .unwrap_or_default();
        match self.shape {
            Shape::Trend => match cadence.comparison {
                Comparison::YearOverYear => format!("{title} year over year{by}"),
                _ => format!("{} {metric}{by}", cadence.label),
            },
            Shape::Breakdown => match rng.random_range(0..4) {
                0 => format!("{title}{by}, last {} days", self.breakdown_days()),
                _ => format!("{title}{by}"),
            },
            Shape::Headline => match rng.random_range(0..4) {
                0 => format!("Total {metric}"),
                1 => format!("{title} KPI"),
                2 => format!("{title} (big number)"),
                _ => format!("Current {metric}"),
            },
            Shape::Target => match rng.random_range(0..3) {
                0 => format!("{title} attainment"),
                _ => format!("{title} vs. target"),
            },
            Shape::TopCustomers => match rng.random_range(0..2) {
                0 => format!("Top customers by {metric}"),
                _ => format!("Top 50 accounts by {metric}"),
            },
            Shape::Funnel => format!("{} funnel", self.funnel().0),
            Shape::Cohorts => match rng.random_range(0..2) {
                0 => format!("{title} by signup cohort"),
                _ => format!("Monthly cohorts: {metric}"),
            },
            Shape::Rows => match rng.random_range(0..3) {
                0 => format!("[WIP] {metric} deep dive"),
                1 => format!("{title} raw rows"),
                _ => format!("Scratch: {metric} checks"),
            },
        }
    }

    /// The chart types that suit the query, with how often each is chosen.
    fn chart_types(&self) -> &'static [(&'static str, u32)] {
        let comparison = CADENCES[usize::from(self.cadence)].comparison;
        match self.shape {
            Shape::Trend if comparison != Comparison::Plain => {
                &[("line", 70), ("area", 20), ("table", 10)]
            }
            Shape::Trend if self.dimension.is_some() => &[
                ("line", 35),
                ("area", 15),
                ("bar", 25),
                ("pivot_table", 15),
                ("table", 10),
            ],
            Shape::Trend => &[("line", 45), ("area", 15), ("bar", 25), ("table", 15)],
            Shape::Breakdown => &[("bar", 50), ("pie", 25), ("table", 20), ("pivot_table", 5)],
            Shape::Headline => &[("big_number", 80), ("table", 20)],
            Shape::Target => &[("line", 45), ("bar", 35), ("table", 20)],
            Shape::TopCustomers => &[("table", 75), ("bar", 25)],
            Shape::Funnel => &[("bar", 70), ("table", 30)],
            Shape::Cohorts => &[("pivot_table", 50), ("line", 30), ("table", 20)],
            Shape::Rows => &[("table", 1)],
        }
    }

    /// A chart type for the query, other than `except` when it can be.
    pub(crate) fn chart_type(&self, rng: &mut StdRng, except: Option<&str>) -> &'static str {
        let types = self.chart_types();
        let others: Vec<(&'static str, u32)> = types
            .iter()
            .copied()
            .filter(|(chart_type, _)| Some(*chart_type) != except)
            .collect();
        let choices = if others.is_empty() { types } else { &others };
        weighted(rng, choices)
    }

    /// A title for a chart of the query. Many charts keep none, when
    /// `untitled` allows it.
    pub(crate) fn chart_title(
        &self,
        rng: &mut StdRng,
        chart_type: &str,
        untitled: bool,
    ) -> Option<String> {
        if untitled && rng.random_bool(0.3) {
            return None;
        }
        let metric = self.metric().label;
        let title = capitalized(metric);
        let dimension = self
            .dimension
            .map(|dimension| DIMENSIONS[usize::from(dimension)].label);
        let unit = CADENCES[usize::from(self.cadence)].unit;
        Some(match (self.shape, dimension) {
            (Shape::Trend, Some(dimension)) if rng.random_bool(0.5) => {
                format!("{title} by {dimension}")
            }
            (Shape::Trend, _) => match rng.random_range(0..3) {
                0 => format!("{title} over time"),
                1 => format!("{title} by {unit}"),
                _ => "Trend".to_owned(),
            },
            (Shape::Breakdown, Some(dimension)) if chart_type == "pie" => {
                format!("Share of {metric} by {dimension}")
            }
            (Shape::Breakdown, Some(dimension)) => format!("{title} by {dimension}"),
            (Shape::Headline, _) => {
                format!("{title}{}", pick(rng, &["", " (MTD)", ", last 30 days"]))
            }
            (Shape::Target, _) => pick(rng, &["Actual vs. target", "Attainment"]).to_owned(),
            (Shape::TopCustomers, _) => {
                pick(rng, &["Top 50 customers", "Largest accounts"]).to_owned()
            }
            (Shape::Funnel, _) => pick(rng, &["Conversion by step", "Drop-off"]).to_owned(),
            (Shape::Cohorts, _) => pick(
                rng,
                &[
                    "Retention heatmap",
                    "Cohort curves",
                    "Customers by months since signup",
                ],
            )
            .to_owned(),
            (Shape::Breakdown | Shape::Rows, _) => pick(rng, &["Raw rows", "Sample"]).to_owned(),
        })
    }

    fn breakdown_days(&self) -> u32 {
        [7, 30, 90, 365][(self.variant >> 8) as usize % 4]
    }

    /// The funnel's name and the events of its steps, for the metric.
    fn funnel(&self) -> (&'static str, &'static [&'static str]) {
        match self.metric().label {
            "signups" | "page views" | "CAC" | "ad spend" => (
                "Signup",
                &["landing_page_viewed", "signup_started", "signup_completed"],
            ),
            "revenue" | "orders" | "conversion rate" | "gross margin" | "refunds" => (
                "Checkout",
                &[
                    "product_viewed",
                    "added_to_cart",
                    "checkout_started",
                    "checkout_completed",
                ],
            ),
            "trial starts" | "ARR" | "churn" | "net dollar retention" | "pipeline" => (
                "Trial to paid",
                &[
                    "trial_started",
                    "teammate_invited",
                    "subscription_activated",
                ],
            ),
            _ => (
                "Onboarding",
                &[
                    "account_created",
                    "data_source_connected",
                    "first_report_created",
                ],
            ),
        }
    }

    /// The query's SQL.
    pub(crate) fn raw_query(&self) -> String {
        writer::write(self)
    }
}
