//! Writing a query's SQL from its [`QuerySpec`]: one writer per shape,
//! spelled in the data source's dialect, with the comments, windows and
//! layout an analyst's query has.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Dialect, QuerySpec, Shape};
use crate::demo::random::pick;
use crate::demo::topics::{CADENCES, Comparison, DIMENSIONS, Expr, Metric};
use crate::demo::words::capitalized;

/// The SQL of the query `spec` describes.
pub(super) fn write(spec: &QuerySpec) -> String {
    let mut rng = StdRng::seed_from_u64(u64::from(spec.variant));
    let mut sql = Sql {
        text: String::with_capacity(1024),
        indent: if rng.random_bool(0.8) { "  " } else { "    " },
        dialect: spec.source.dialect,
        spec: *spec,
        parameter: false,
    };
    sql.header(&mut rng);
    match spec.shape {
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
