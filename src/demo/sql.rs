//! The queries of reports: the data sources a workspace connects and their
//! dialects, the shapes of query analysts write (a trend, a breakdown, a
//! headline number, a funnel...), their names, the charts that suit them,
//! and their SQL.
//!
//! The plan keeps a small [`QuerySpec`] per query and version; the SQL is
//! written from it only when its line is, so that a plan of 200,000 queries
//! does not hold 100 MB of text.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::random::{pick, weighted};
use super::topics::{CADENCES, Comparison, DIMENSIONS, Expr, METRICS, Metric, Topic};
use super::words::capitalized;

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
        let mut rng = StdRng::seed_from_u64(u64::from(self.variant));
        let mut sql = Sql {
            text: String::with_capacity(1024),
            indent: if rng.random_bool(0.8) { "  " } else { "    " },
            dialect: self.source.dialect,
            spec: *self,
            parameter: false,
        };
        sql.header(&mut rng);
        match self.shape {
            Shape::Trend => sql.trend(&mut rng),
            Shape::Breakdown => sql.breakdown(&mut rng),
            Shape::Headline => sql.headline(&mut rng),
            Shape::Target => sql.target(&mut rng),
            Shape::TopCustomers => sql.top_customers(&mut rng),
            Shape::Funnel => sql.funnel(&mut rng),
            Shape::Cohorts => sql.cohorts(&mut rng),
            Shape::Rows => sql.rows(&mut rng),
        }
        sql.finish(&mut rng)
    }
}

/// Whether a query joins `analytics.customers`, and what for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Join {
    No,
    /// For columns it selects, and now and then for its test-account flag.
    ForColumns,
    /// Only to leave test accounts out.
    ForFilter,
}

impl Join {
    /// `ForFilter` as often as `probability` says, `No` otherwise.
    fn for_filter(rng: &mut StdRng, probability: f64) -> Join {
        if rng.random_bool(probability) {
            Join::ForFilter
        } else {
            Join::No
        }
    }
}

/// A query's text as it is written.
struct Sql {
    text: String,
    indent: &'static str,
    dialect: Dialect,
    spec: QuerySpec,
    /// Whether the text uses Mode's `{{ start_date }}` parameter, whose form
    /// must then close it.
    parameter: bool,
}

impl Sql {
    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.text.push_str(self.indent);
        }
        self.text.push_str(text);
        self.text.push('\n');
    }

    fn metric(&self) -> &'static Metric {
        self.spec.metric()
    }

    fn header(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        match rng.random_range(0..20) {
            0..3 => self.line(0, "-- Excludes internal and test accounts."),
            3..5 => self.line(
                0,
                &format!(
                    "-- Source of truth for {}; keep in sync with the dbt model.",
                    metric.label
                ),
            ),
            5 => self.line(
                0,
                "-- TODO: move this to the semantic layer once it's ready.",
            ),
            6 => self.line(0, "-- Don't change the joins without asking in #data-eng."),
            7 => {
                self.line(0, "/*");
                self.line(
                    1,
                    &format!("{} as Finance reports it.", capitalized(metric.label)),
                );
                self.line(
                    1,
                    "Numbers may lag by a day: the nightly load runs at 06:00 UTC.",
                );
                self.line(0, "*/");
            }
            8 => self.line(
                0,
                &format!(
                    "-- Reads {} directly; the rollup was off by a day.",
                    metric.table
                ),
            ),
            _ => {}
        }
    }

    fn finish(mut self, rng: &mut StdRng) -> String {
        if rng.random_bool(0.3) {
            self.text.pop();
            self.text.push_str(";\n");
        }
        if self.parameter {
            let default = format!("{}-01-01", self.spec.year);
            self.text.push('\n');
            self.line(0, "{% form %}");
            self.line(0, "start_date:");
            self.line(1, "type: date");
            self.line(1, &format!("default: {default}"));
            self.line(0, "{% endform %}");
        }
        while self.text.ends_with('\n') {
            self.text.pop();
        }
        self.text
    }

    fn table(&self, name: &str) -> String {
        match self.dialect {
            Dialect::BigQuery => format!("`{name}`"),
            _ => name.to_owned(),
        }
    }

    fn truncated(&self, unit: &str, column: &str) -> String {
        match self.dialect {
            Dialect::BigQuery => format!("DATE_TRUNC(DATE({column}), {})", unit.to_uppercase()),
            _ => format!("DATE_TRUNC('{unit}', {column})"),
        }
    }

    fn expr(&self, expr: Expr) -> String {
        match (expr, self.dialect) {
            (Expr::Column(column), _) => column.to_owned(),
            (Expr::Json(column, key), Dialect::Postgres) => format!("{column} ->> '{key}'"),
            (Expr::Json(column, key), Dialect::Snowflake) => format!("{column}:{key}::string"),
            (Expr::Json(column, key), Dialect::BigQuery) => {
                format!("JSON_VALUE({column}, '$.{key}')")
            }
            (Expr::Month(column), _) => self.truncated("month", column),
        }
    }

    /// `units` of `unit` before today.
    fn ago(&self, units: u32, unit: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("CURRENT_DATE - INTERVAL '{units} {unit}s'"),
            Dialect::Snowflake => format!("DATEADD({unit}, -{units}, CURRENT_DATE)"),
            Dialect::BigQuery => format!(
                "DATE_SUB(CURRENT_DATE(), INTERVAL {units} {})",
                unit.to_uppercase()
            ),
        }
    }

    /// The condition that keeps rows dated since a bound: usually relative to
    /// today, sometimes a literal date or Mode's `start_date` parameter.
    fn since(&mut self, rng: &mut StdRng, column: &str, units: u32, unit: &str) -> String {
        let column = match self.dialect {
            Dialect::BigQuery => format!("DATE({column})"),
            _ => column.to_owned(),
        };
        let bound = match rng.random_range(0..100) {
            0..10 => {
                self.parameter = true;
                match self.dialect {
                    Dialect::BigQuery => "DATE '{{ start_date }}'".to_owned(),
                    _ => "'{{ start_date }}'".to_owned(),
                }
            }
            10..22 => {
                let date = format!("{}-01-01", self.spec.year - 1);
                match self.dialect {
                    Dialect::Postgres => format!("'{date}'"),
                    Dialect::Snowflake => format!("'{date}'::date"),
                    Dialect::BigQuery => format!("DATE '{date}'"),
                }
            }
            _ => self.ago(units, unit),
        };
        format!("{column} >= {bound}")
    }

    fn months_between(&self, from: &str, to: &str) -> String {
        match self.dialect {
            Dialect::Snowflake => format!("DATEDIFF(month, {from}, {to})"),
            Dialect::BigQuery => format!("DATE_DIFF({to}, {from}, MONTH)"),
            Dialect::Postgres => format!(
                "(DATE_PART('year', AGE({to}, {from})) * 12 + DATE_PART('month', AGE({to}, {from})))"
            ),
        }
    }

    /// The dimension's select expression and output name, and whether it
    /// needs customers joined.
    fn dimension(&self) -> Option<(String, String, bool)> {
        let dimension = usize::from(self.spec.dimension?);
        let (expr, needs_customers) = self.metric().dimension(dimension)?;
        let name = DIMENSIONS[dimension].label.replace(' ', "_");
        Some((self.expr(expr), name, needs_customers))
    }

    /// `FROM`, the join on customers when wanted, and `WHERE` with the
    /// metric's filter and the rows dated since `units` of `unit` ago.
    fn rows_since(&mut self, rng: &mut StdRng, depth: usize, join: Join, units: u32, unit: &str) {
        let metric = self.metric();
        let from = format!("FROM {} {}", self.table(metric.table), metric.alias);
        self.line(depth, &from);
        let joined = join != Join::No && metric.customer_key.is_some();
        if let (true, Some(key)) = (joined, metric.customer_key) {
            let join = format!(
                "JOIN {} c ON c.customer_id = {key}",
                self.table("analytics.customers")
            );
            self.line(depth, &join);
        }
        let since = self.since(rng, metric.time_column, units, unit);
        self.line(depth, &format!("WHERE {since}"));
        if let Some(filter) = metric.filter {
            let comment = match rng.random_range(0..12) {
                0 => "  -- per Finance",
                1 => "  -- agreed with RevOps, see #data-questions",
                _ => "",
            };
            self.line(depth + 1, &format!("AND {filter}{comment}"));
        }
        if joined && (join == Join::ForFilter || rng.random_bool(0.6)) {
            self.line(depth + 1, "AND NOT c.is_test_account");
        }
        if let (Some(key), true) = (metric.customer_key, rng.random_bool(0.15)) {
            let internal = self.table("analytics.internal_accounts");
            self.line(
                depth + 1,
                &format!("AND {key} NOT IN (SELECT customer_id FROM {internal})"),
            );
        }
    }

    fn trend(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        let cadence = &CADENCES[usize::from(self.spec.cadence)];
        let unit = cadence.unit;
        let dimension = self.dimension();
        let bucket = self.truncated(unit, metric.time_column);
        let column = metric.column;
        let comparison = cadence.comparison;
        let depth = usize::from(comparison != Comparison::Plain);
        if depth == 1 {
            let cte = if unit == "day" { "daily" } else { "monthly" };
            self.line(0, &format!("WITH {cte} AS ("));
        }
        self.line(depth, "SELECT");
        self.line(depth + 1, &format!("{bucket} AS {unit},"));
        if let Some((expr, name, _)) = &dimension {
            self.line(depth + 1, &format!("{expr} AS {name},"));
        }
        self.line(depth + 1, &format!("{} AS {column}", metric.aggregate));
        let join = if dimension.as_ref().is_some_and(|(_, _, joined)| *joined) {
            Join::ForColumns
        } else {
            Join::for_filter(rng, 0.2)
        };
        self.rows_since(rng, depth, join, cadence.lookback, unit);
        let group = if dimension.is_some() { "1, 2" } else { "1" };
        self.line(depth, &format!("GROUP BY {group}"));
        let partition = dimension
            .as_ref()
            .map(|(_, name, _)| format!("PARTITION BY {name} "))
            .unwrap_or_default();
        let select_dimension = |sql: &mut Sql| {
            sql.line(1, &format!("{unit},"));
            if let Some((_, name, _)) = &dimension {
                sql.line(1, &format!("{name},"));
            }
            sql.line(1, &format!("{column},"));
        };
        match comparison {
            Comparison::Plain => self.line(0, &format!("ORDER BY {group}")),
            Comparison::YearOverYear => {
                let last_year = format!("LAG({column}, 12) OVER ({partition}ORDER BY {unit})");
                self.line(0, ")");
                self.line(0, "SELECT");
                select_dimension(self);
                self.line(1, &format!("{last_year} AS {column}_last_year,"));
                self.line(
                    1,
                    &format!("{column} / NULLIF({last_year}, 0) - 1 AS yoy_change"),
                );
                self.line(0, "FROM monthly");
                self.line(0, &format!("ORDER BY {group}"));
            }
            Comparison::Rolling(days) => {
                self.line(0, ")");
                self.line(0, "SELECT");
                select_dimension(self);
                self.line(
                    1,
                    &format!(
                        "AVG({column}) OVER ({partition}ORDER BY {unit} ROWS BETWEEN {} PRECEDING AND CURRENT ROW) AS {column}_{days}d_avg",
                        days - 1
                    ),
                );
                self.line(0, "FROM daily");
                self.line(0, &format!("ORDER BY {group}"));
            }
        }
    }

    fn breakdown(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        let Some((expr, name, customers)) = self.dimension() else {
            return self.headline(rng);
        };
        self.line(0, "SELECT");
        self.line(1, &format!("{expr} AS {name},"));
        let share = !metric.aggregate.contains('/') && rng.random_bool(0.4);
        let comma = if share { "," } else { "" };
        self.line(
            1,
            &format!("{} AS {}{comma}", metric.aggregate, metric.column),
        );
        if share {
            self.line(
                1,
                &format!(
                    "ROUND(100.0 * {} / SUM({}) OVER (), 1) AS pct_of_total",
                    metric.aggregate, metric.aggregate
                ),
            );
        }
        let join = if customers {
            Join::ForColumns
        } else {
            Join::for_filter(rng, 0.2)
        };
        self.rows_since(rng, 0, join, self.spec.breakdown_days(), "day");
        self.line(0, "GROUP BY 1");
        self.line(0, "ORDER BY 2 DESC");
        if rng.random_bool(0.4) {
            self.line(0, "LIMIT 20");
        }
    }

    fn headline(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        let name = match self.dialect {
            Dialect::BigQuery => metric.column.to_owned(),
            _ if rng.random_bool(0.4) => format!("\"{}\"", capitalized(metric.label)),
            _ => metric.column.to_owned(),
        };
        self.line(0, "SELECT");
        self.line(1, &format!("{} AS {name}", metric.aggregate));
        let join = Join::for_filter(rng, 0.2);
        self.rows_since(rng, 0, join, 30, "day");
    }

    fn target(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        let column = metric.column;
        let bucket = self.truncated("month", metric.time_column);
        self.line(0, "WITH actuals AS (");
        self.line(1, "SELECT");
        self.line(2, &format!("{bucket} AS month,"));
        self.line(2, &format!("{} AS {column}", metric.aggregate));
        let join = Join::for_filter(rng, 0.3);
        self.rows_since(rng, 1, join, 12, "month");
        self.line(1, "GROUP BY 1");
        self.line(0, ")");
        self.line(0, "SELECT");
        self.line(1, "a.month,");
        self.line(1, &format!("a.{column},"));
        self.line(1, &format!("t.target_value AS {column}_target,"));
        self.line(
            1,
            &format!("a.{column} / NULLIF(t.target_value, 0) AS attainment"),
        );
        self.line(0, "FROM actuals a");
        let targets = self.table("finance.metric_targets");
        self.line(0, &format!("LEFT JOIN {targets} t"));
        self.line(1, "ON t.month = a.month");
        self.line(1, &format!("AND t.metric = '{column}'"));
        self.line(0, "ORDER BY a.month");
    }

    fn top_customers(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        self.line(0, "SELECT");
        self.line(1, "c.customer_id,");
        self.line(1, "c.company_name,");
        self.line(1, "c.segment,");
        self.line(1, &format!("{} AS {}", metric.aggregate, metric.column));
        let days = self.spec.breakdown_days();
        self.rows_since(rng, 0, Join::ForColumns, days, "day");
        self.line(0, "GROUP BY 1, 2, 3");
        self.line(0, &format!("ORDER BY {} DESC", metric.column));
        self.line(0, "LIMIT 50");
    }

    fn funnel(&mut self, rng: &mut StdRng) {
        let (_, steps) = self.spec.funnel();
        let events = self.table("analytics.events");
        self.line(0, "WITH steps AS (");
        self.line(1, "SELECT");
        self.line(2, "e.user_id,");
        for (index, step) in steps.iter().enumerate() {
            let comma = if index + 1 < steps.len() { "," } else { "" };
            self.line(
                2,
                &format!(
                    "MIN(CASE WHEN e.event_name = '{step}' THEN e.occurred_at END) AS {step}_at{comma}"
                ),
            );
        }
        self.line(1, &format!("FROM {events} e"));
        let since = self.since(rng, "e.occurred_at", 30, "day");
        self.line(1, &format!("WHERE {since}"));
        let names: Vec<String> = steps.iter().map(|step| format!("'{step}'")).collect();
        self.line(2, &format!("AND e.event_name IN ({})", names.join(", ")));
        self.line(1, "GROUP BY e.user_id");
        self.line(0, ")");
        self.line(0, "SELECT");
        for (index, step) in steps.iter().enumerate() {
            let comma = if index + 1 < steps.len() { "," } else { "" };
            let counted = match index {
                0 => format!("COUNT({step}_at)"),
                _ => format!(
                    "COUNT(CASE WHEN {step}_at >= {}_at THEN 1 END)",
                    steps[index - 1]
                ),
            };
            self.line(1, &format!("{counted} AS {step}{comma}"));
        }
        self.line(0, "FROM steps");
    }

    fn cohorts(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        let key = metric.customer_key.unwrap_or("customer_id");
        let customers = self.table("analytics.customers");
        let signup_month = self.truncated("month", "c.created_at");
        let active_month = self.truncated("month", metric.time_column);
        self.line(0, "WITH cohorts AS (");
        self.line(1, "SELECT");
        self.line(2, "c.customer_id,");
        self.line(2, &format!("{signup_month} AS cohort_month"));
        self.line(1, &format!("FROM {customers} c"));
        let since = self.since(rng, "c.created_at", 12, "month");
        self.line(1, &format!("WHERE {since}"));
        self.line(2, "AND NOT c.is_test_account");
        self.line(0, "),");
        self.line(0, "activity AS (");
        self.line(1, "SELECT DISTINCT");
        self.line(2, &format!("{key} AS customer_id,"));
        self.line(2, &format!("{active_month} AS active_month"));
        self.line(
            1,
            &format!("FROM {} {}", self.table(metric.table), metric.alias),
        );
        if let Some(filter) = metric.filter {
            self.line(1, &format!("WHERE {filter}"));
        }
        self.line(0, ")");
        self.line(0, "SELECT");
        self.line(1, "co.cohort_month,");
        let months = self.months_between("co.cohort_month", "a.active_month");
        self.line(1, &format!("{months} AS months_since_signup,"));
        self.line(1, "COUNT(DISTINCT a.customer_id) AS customers");
        self.line(0, "FROM cohorts co");
        self.line(0, "JOIN activity a");
        self.line(1, "ON a.customer_id = co.customer_id");
        self.line(1, "AND a.active_month >= co.cohort_month");
        self.line(0, "GROUP BY 1, 2");
        self.line(0, "ORDER BY 1, 2");
    }

    fn rows(&mut self, rng: &mut StdRng) {
        let metric = self.metric();
        let customers = metric.customer_key.is_some() && rng.random_bool(0.5);
        if rng.random_bool(0.5) {
            self.line(0, "-- quick look, don't put this on a dashboard");
        }
        self.line(0, "SELECT");
        if customers {
            self.line(1, &format!("{}.*,", metric.alias));
            self.line(1, "c.company_name");
        } else {
            self.line(1, &format!("{}.*", metric.alias));
        }
        let join = if customers {
            Join::ForColumns
        } else {
            Join::No
        };
        self.rows_since(rng, 0, join, 7, "day");
        self.line(0, &format!("ORDER BY {} DESC", metric.time_column));
        self.line(0, &format!("LIMIT {}", pick(rng, &["100", "500", "1000"])));
    }
}
