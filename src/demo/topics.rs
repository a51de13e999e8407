//! What reports and queries are about: the metrics a BI team tracks and the
//! warehouse tables they come from, the dimensions they are cut by, and the
//! cadences they are read at.
//!
//! One table serves names and SQL alike, so that a report called "Weekly
//! revenue by region" gets a query of that name which sums
//! `orders.amount_usd` by `customers.region` per week.

use rand::Rng;
use rand::rngs::StdRng;

use super::words::capitalized;

/// A column or expression that depends on the SQL dialect.
#[derive(Clone, Copy)]
pub(crate) enum Expr {
    Column(&'static str),
    /// A key of a JSON column: `(column, key)`.
    Json(&'static str, &'static str),
    /// A timestamp truncated to its month.
    Month(&'static str),
}

/// Something a BI team counts, and where it comes from.
pub(crate) struct Metric {
    /// As names say it: "active users".
    pub(crate) label: &'static str,
    /// The schema-qualified table and the alias queries give it.
    pub(crate) table: &'static str,
    pub(crate) alias: &'static str,
    /// The column that dates a row.
    pub(crate) time_column: &'static str,
    /// The column that joins a row to `analytics.customers`, if any.
    pub(crate) customer_key: Option<&'static str>,
    /// The aggregate and the name of its output column.
    pub(crate) aggregate: &'static str,
    pub(crate) column: &'static str,
    /// The rows that count, when not all of them do.
    pub(crate) filter: Option<&'static str>,
    /// Dimensions read from the metric's own table, by label.
    pub(crate) own_dimensions: &'static [(&'static str, Expr)],
}

/// A way to cut a metric. Those with a `customer_column` apply to every
/// metric whose rows belong to a customer.
pub(crate) struct Dimension {
    pub(crate) label: &'static str,
    pub(crate) customer_column: Option<Expr>,
}

/// How a metric is compared over time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    /// Buckets side by side.
    Plain,
    /// Each month against the same month a year before.
    YearOverYear,
    /// A moving average over this many buckets.
    Rolling(u32),
}

/// How often a metric is read: the bucket of its time series and how far
/// back it looks.
pub(crate) struct Cadence {
    pub(crate) label: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) lookback: u32,
    pub(crate) comparison: Comparison,
}

/// What a report is about, drawn when it is created; its first query is
/// about the same.
#[derive(Clone, Copy)]
pub(crate) struct Topic {
    pub(crate) cadence: u8,
    pub(crate) metric: u8,
    pub(crate) dimension: u8,
    /// Which of the name patterns of [`Topic::report_name`] it uses.
    pub(crate) form: u8,
}

impl Topic {
    pub(crate) fn draw(rng: &mut StdRng) -> Topic {
        let cadence = rng.random_range(0..CADENCES.len()) as u8;
        let metric = rng.random_range(0..METRICS.len()) as u8;
        let dimension = rng.random_range(0..DIMENSIONS.len()) as u8;
        let form = rng.random_range(0..REPORT_FORMS);
        Topic {
            cadence,
            metric,
            dimension,
            form,
        }
    }

    pub(crate) fn report_name(&self) -> String {
        let cadence = CADENCES[usize::from(self.cadence)].label;
        let metric = METRICS[usize::from(self.metric)].label;
        let dimension = DIMENSIONS[usize::from(self.dimension)].label;
        match self.form {
            0..4 => format!("{cadence} {metric} by {dimension}"),
            4 => format!("{} dashboard", capitalized(metric)),
            5 => format!("{} by {dimension}", capitalized(metric)),
            6 => format!("{} funnel", capitalized(metric)),
            7 => format!("{cadence} {metric} report"),
            8 => format!("{} vs. target", capitalized(metric)),
            _ => format!("[WIP] {metric} deep dive"),
        }
    }
}

/// The number of name patterns a report's name follows.
const REPORT_FORMS: u8 = 10;

impl Metric {
    /// The expression of `dimension` for this metric, if the metric can be
    /// cut by it, and whether it needs the join on customers.
    pub(crate) fn dimension(&self, dimension: usize) -> Option<(Expr, bool)> {
        let label = DIMENSIONS[dimension].label;
        let own = self
            .own_dimensions
            .iter()
            .find(|(own, _)| *own == label)
            .map(|(_, expr)| (*expr, false));
        own.or_else(|| {
            self.customer_key?;
            DIMENSIONS[dimension]
                .customer_column
                .map(|expr| (expr, true))
        })
    }

    /// The dimensions this metric can be cut by, by index.
    pub(crate) fn dimensions(&self) -> impl Iterator<Item = usize> + '_ {
        (0..DIMENSIONS.len()).filter(|&dimension| self.dimension(dimension).is_some())
    }
}

/// The metrics, in the order report names draw them.
pub(crate) const METRICS: &[Metric] = &[
    Metric {
        label: "revenue",
        table: "analytics.orders",
        alias: "o",
        time_column: "o.created_at",
        customer_key: Some("o.customer_id"),
        aggregate: "SUM(o.amount_usd)",
        column: "revenue_usd",
        filter: Some("o.status IN ('paid', 'shipped')"),
        own_dimensions: ORDER_DIMENSIONS,
    },
    Metric {
        label: "active users",
        table: "analytics.sessions",
        alias: "s",
        time_column: "s.started_at",
        customer_key: Some("s.customer_id"),
        aggregate: "COUNT(DISTINCT s.user_id)",
        column: "active_users",
        filter: Some("NOT s.is_internal"),
        own_dimensions: &[
            ("device", Expr::Column("s.device_type")),
            ("country", Expr::Column("s.geo_country")),
        ],
    },
    Metric {
        label: "signups",
        table: "analytics.events",
        alias: "e",
        time_column: "e.occurred_at",
        customer_key: Some("e.account_id"),
        aggregate: "COUNT(DISTINCT e.user_id)",
        column: "signups",
        filter: Some("e.event_name = 'signup_completed'"),
        own_dimensions: &[
            ("channel", Expr::Json("e.properties", "utm_source")),
            ("campaign", Expr::Json("e.properties", "utm_campaign")),
            ("device", Expr::Column("e.platform")),
        ],
    },
    Metric {
        label: "churn",
        table: "billing.subscriptions",
        alias: "sub",
        time_column: "sub.cancelled_at",
        customer_key: Some("sub.customer_id"),
        aggregate: "COUNT(*)",
        column: "churned_subscriptions",
        filter: Some("sub.status = 'cancelled'"),
        own_dimensions: SUBSCRIPTION_DIMENSIONS,
    },
    Metric {
        label: "orders",
        table: "analytics.orders",
        alias: "o",
        time_column: "o.created_at",
        customer_key: Some("o.customer_id"),
        aggregate: "COUNT(DISTINCT o.order_id)",
        column: "orders",
        filter: Some("o.status <> 'cancelled'"),
        own_dimensions: ORDER_DIMENSIONS,
    },
    Metric {
        label: "conversion rate",
        table: "analytics.events",
        alias: "e",
        time_column: "e.occurred_at",
        customer_key: Some("e.account_id"),
        aggregate: "COUNT(DISTINCT CASE WHEN e.event_name = 'checkout_completed' THEN e.user_id END) * 1.0 / NULLIF(COUNT(DISTINCT e.user_id), 0)",
        column: "conversion_rate",
        filter: Some("e.event_name IN ('product_viewed', 'checkout_completed')"),
        own_dimensions: &[
            ("device", Expr::Column("e.platform")),
            ("channel", Expr::Json("e.properties", "utm_source")),
        ],
    },
    Metric {
        label: "retention",
        table: "analytics.sessions",
        alias: "s",
        time_column: "s.started_at",
        customer_key: Some("s.customer_id"),
        aggregate: "COUNT(DISTINCT s.customer_id)",
        column: "retained_customers",
        filter: Some("s.customer_age_days >= 30"),
        own_dimensions: &[("device", Expr::Column("s.device_type"))],
    },
    Metric {
        label: "ARR",
        table: "billing.subscriptions",
        alias: "sub",
        time_column: "sub.started_at",
        customer_key: Some("sub.customer_id"),
        aggregate: "SUM(sub.mrr_usd) * 12",
        column: "arr_usd",
        filter: Some("sub.status = 'active'"),
        own_dimensions: SUBSCRIPTION_DIMENSIONS,
    },
    Metric {
        label: "pipeline",
        table: "sales.opportunities",
        alias: "opp",
        time_column: "opp.created_at",
        customer_key: None,
        aggregate: "SUM(opp.amount_usd)",
        column: "pipeline_usd",
        filter: Some("opp.stage NOT IN ('Closed Lost', 'Disqualified')"),
        own_dimensions: &[
            ("sales rep", Expr::Column("opp.owner_name")),
            ("region", Expr::Column("opp.territory")),
            ("customer segment", Expr::Column("opp.segment")),
        ],
    },
    Metric {
        label: "support tickets",
        table: "support.tickets",
        alias: "t",
        time_column: "t.created_at",
        customer_key: Some("t.customer_id"),
        aggregate: "COUNT(*)",
        column: "tickets",
        filter: Some("t.tags NOT LIKE '%spam%'"),
        own_dimensions: &[
            ("channel", Expr::Column("t.channel")),
            ("team", Expr::Column("t.assignee_group")),
        ],
    },
    Metric {
        label: "NPS",
        table: "survey.nps_responses",
        alias: "n",
        time_column: "n.submitted_at",
        customer_key: Some("n.customer_id"),
        aggregate: "100.0 * (COUNT(CASE WHEN n.score >= 9 THEN 1 END) - COUNT(CASE WHEN n.score <= 6 THEN 1 END)) / NULLIF(COUNT(*), 0)",
        column: "nps",
        filter: None,
        own_dimensions: &[],
    },
    Metric {
        label: "refunds",
        table: "analytics.refunds",
        alias: "r",
        time_column: "r.refunded_at",
        customer_key: Some("r.customer_id"),
        aggregate: "SUM(r.amount_usd)",
        column: "refunded_usd",
        filter: None,
        own_dimensions: &[("product line", Expr::Column("r.product_line"))],
    },
    Metric {
        label: "page views",
        table: "analytics.events",
        alias: "e",
        time_column: "e.occurred_at",
        customer_key: Some("e.account_id"),
        aggregate: "COUNT(*)",
        column: "page_views",
        filter: Some("e.event_name = 'page_view'"),
        own_dimensions: &[
            ("device", Expr::Column("e.platform")),
            ("campaign", Expr::Json("e.properties", "utm_campaign")),
        ],
    },
    Metric {
        label: "trial starts",
        table: "billing.subscriptions",
        alias: "sub",
        time_column: "sub.trial_started_at",
        customer_key: Some("sub.customer_id"),
        aggregate: "COUNT(*)",
        column: "trial_starts",
        filter: Some("sub.trial_started_at IS NOT NULL"),
        own_dimensions: &[("plan", Expr::Column("sub.plan_name"))],
    },
    Metric {
        label: "inventory levels",
        table: "ops.inventory_snapshots",
        alias: "i",
        time_column: "i.snapshot_date",
        customer_key: None,
        aggregate: "SUM(i.units_on_hand)",
        column: "units_on_hand",
        filter: None,
        own_dimensions: &[
            ("warehouse", Expr::Column("i.warehouse_code")),
            ("product line", Expr::Column("i.category")),
        ],
    },
    Metric {
        label: "ad spend",
        table: "marketing.ad_spend",
        alias: "a",
        time_column: "a.spend_date",
        customer_key: None,
        aggregate: "SUM(a.cost_usd)",
        column: "spend_usd",
        filter: None,
        own_dimensions: AD_DIMENSIONS,
    },
    Metric {
        label: "CAC",
        table: "marketing.ad_spend",
        alias: "a",
        time_column: "a.spend_date",
        customer_key: None,
        aggregate: "SUM(a.cost_usd) / NULLIF(SUM(a.new_customers), 0)",
        column: "cac_usd",
        filter: Some("a.network <> 'organic'"),
        own_dimensions: AD_DIMENSIONS,
    },
    Metric {
        label: "session length",
        table: "analytics.sessions",
        alias: "s",
        time_column: "s.started_at",
        customer_key: Some("s.customer_id"),
        aggregate: "AVG(s.duration_seconds) / 60.0",
        column: "avg_session_minutes",
        filter: Some("s.duration_seconds > 0"),
        own_dimensions: &[("device", Expr::Column("s.device_type"))],
    },
    Metric {
        label: "gross margin",
        table: "analytics.orders",
        alias: "o",
        time_column: "o.created_at",
        customer_key: Some("o.customer_id"),
        aggregate: "SUM(o.amount_usd - o.cost_usd) / NULLIF(SUM(o.amount_usd), 0)",
        column: "gross_margin",
        filter: Some("o.status IN ('paid', 'shipped')"),
        own_dimensions: ORDER_DIMENSIONS,
    },
    Metric {
        label: "net dollar retention",
        table: "finance.mrr_by_customer",
        alias: "m",
        time_column: "m.month",
        customer_key: Some("m.customer_id"),
        aggregate: "SUM(m.mrr_usd) / NULLIF(SUM(m.mrr_usd_prior_year), 0)",
        column: "net_dollar_retention",
        filter: Some("m.mrr_usd_prior_year > 0"),
        own_dimensions: &[("plan", Expr::Column("m.plan_name"))],
    },
];

const ORDER_DIMENSIONS: &[(&str, Expr)] = &[
    ("product line", Expr::Column("o.product_line")),
    ("warehouse", Expr::Column("o.fulfillment_center")),
    ("channel", Expr::Column("o.sales_channel")),
];

const SUBSCRIPTION_DIMENSIONS: &[(&str, Expr)] = &[
    ("plan", Expr::Column("sub.plan_name")),
    ("pricing tier", Expr::Column("sub.billing_interval")),
];

const AD_DIMENSIONS: &[(&str, Expr)] = &[
    ("campaign", Expr::Column("a.campaign_name")),
    ("channel", Expr::Column("a.network")),
    ("country", Expr::Column("a.country_code")),
];

/// The dimensions, in the order report names draw them.
pub(crate) const DIMENSIONS: &[Dimension] = &[
    Dimension {
        label: "region",
        customer_column: Some(Expr::Column("c.region")),
    },
    Dimension {
        label: "plan",
        customer_column: Some(Expr::Column("c.current_plan")),
    },
    Dimension {
        label: "channel",
        customer_column: Some(Expr::Column("c.acquisition_channel")),
    },
    Dimension {
        label: "product line",
        customer_column: None,
    },
    Dimension {
        label: "country",
        customer_column: Some(Expr::Column("c.country_code")),
    },
    Dimension {
        label: "cohort",
        customer_column: Some(Expr::Month("c.created_at")),
    },
    Dimension {
        label: "sales rep",
        customer_column: Some(Expr::Column("c.account_owner")),
    },
    Dimension {
        label: "device",
        customer_column: None,
    },
    Dimension {
        label: "customer segment",
        customer_column: Some(Expr::Column("c.segment")),
    },
    Dimension {
        label: "campaign",
        customer_column: None,
    },
    Dimension {
        label: "warehouse",
        customer_column: None,
    },
    Dimension {
        label: "team",
        customer_column: None,
    },
    Dimension {
        label: "pricing tier",
        customer_column: Some(Expr::Column("c.pricing_tier")),
    },
];

/// The cadences, in the order report names draw them.
pub(crate) const CADENCES: &[Cadence] = &[
    Cadence {
        label: "Daily",
        unit: "day",
        lookback: 90,
        comparison: Comparison::Plain,
    },
    Cadence {
        label: "Weekly",
        unit: "week",
        lookback: 26,
        comparison: Comparison::Plain,
    },
    Cadence {
        label: "Monthly",
        unit: "month",
        lookback: 12,
        comparison: Comparison::Plain,
    },
    Cadence {
        label: "Quarterly",
        unit: "quarter",
        lookback: 8,
        comparison: Comparison::Plain,
    },
    Cadence {
        label: "Year-over-year",
        unit: "month",
        lookback: 25,
        comparison: Comparison::YearOverYear,
    },
    Cadence {
        label: "Rolling 28-day",
        unit: "day",
        lookback: 180,
        comparison: Comparison::Rolling(28),
    },
];
