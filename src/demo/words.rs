//! The words of the generated workspace: people's names, team spaces, and
//! reports' names and descriptions built from cadences, metrics and
//! dimensions.

use rand::Rng;
use rand::rngs::StdRng;

use super::random::pick;

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

pub(crate) fn report_name(rng: &mut StdRng) -> String {
    let cadence = pick(rng, CADENCES);
    let metric = pick(rng, METRICS);
    let dimension = pick(rng, DIMENSIONS);
    match rng.random_range(0..10) {
        0..4 => format!("{cadence} {metric} by {dimension}"),
        4 => format!("{} dashboard", capitalized(metric)),
        5 => format!("{} by {dimension}", capitalized(metric)),
        6 => format!("{} funnel", capitalized(metric)),
        7 => format!("{cadence} {metric} report"),
        8 => format!("{} vs. target", capitalized(metric)),
        _ => format!("[WIP] {metric} deep dive"),
    }
}

pub(crate) fn report_description(rng: &mut StdRng, team: &str) -> String {
    let table = pick(rng, METRICS).replace(' ', "_").to_lowercase();
    match rng.random_range(0..3) {
        0 => format!(
            "Source: analytics.{table}. Refreshed {}.",
            pick(rng, CADENCES).to_lowercase()
        ),
        1 => format!("Owned by the {team} team. Ask in #data before changing filters."),
        _ => "Excludes test accounts and internal users.".to_owned(),
    }
}

pub(crate) fn edit_description(rng: &mut StdRng) -> String {
    match rng.random_range(0..3) {
        0 => format!("Added a filter on {}.", pick(rng, DIMENSIONS)),
        1 => format!("Fixed double counting of {}.", pick(rng, METRICS)),
        _ => format!(
            "Now reads from analytics.{}_v2.",
            pick(rng, METRICS).replace(' ', "_").to_lowercase()
        ),
    }
}

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ada", "Alex", "Amara", "Ben", "Carla", "Chen", "Dana", "Diego", "Elena", "Farah", "Grace",
    "Hana", "Ibrahim", "Isla", "Jamal", "Jonas", "Kai", "Lena", "Liam", "Maya", "Mateo", "Nadia",
    "Noah", "Olivia", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sam", "Sofia", "Tariq", "Uma",
    "Victor", "Wei", "Yara", "Yusuf", "Zoe",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Adams",
    "Bauer",
    "Chen",
    "Costa",
    "Diaz",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kim",
    "Kowalski",
    "Lopez",
    "Martin",
    "Moreau",
    "Nakamura",
    "Novak",
    "O'Brien",
    "Okafor",
    "Patel",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Tanaka",
    "Underwood",
    "Varga",
    "Wagner",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
];

/// The first is the workspace-wide community space.
pub(crate) const TEAM_SPACES: &[&str] = &[
    "Community",
    "Finance",
    "Growth Marketing",
    "Product Analytics",
    "Sales Operations",
    "Customer Success",
    "Data Platform",
    "Executive Dashboards",
    "People Ops",
    "Supply Chain",
    "Engineering Metrics",
    "Support",
    "Partnerships",
    "Revenue Operations",
    "Payments",
    "Experimentation",
];

const CADENCES: &[&str] = &[
    "Daily",
    "Weekly",
    "Monthly",
    "Quarterly",
    "Year-over-year",
    "Rolling 28-day",
];

const METRICS: &[&str] = &[
    "revenue",
    "active users",
    "signups",
    "churn",
    "orders",
    "conversion rate",
    "retention",
    "ARR",
    "pipeline",
    "support tickets",
    "NPS",
    "refunds",
    "page views",
    "trial starts",
    "inventory levels",
    "ad spend",
    "CAC",
    "session length",
    "gross margin",
    "net dollar retention",
];

const DIMENSIONS: &[&str] = &[
    "region",
    "plan",
    "channel",
    "product line",
    "country",
    "cohort",
    "sales rep",
    "device",
    "customer segment",
    "campaign",
    "warehouse",
    "team",
    "pricing tier",
];
