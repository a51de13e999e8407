//! The words of the generated workspace: people's names, team spaces, and
//! reports' descriptions built from the metrics, dimensions and cadences of
//! [`topics`](super::topics).

use rand::Rng;
use rand::rngs::StdRng;

use super::topics::{CADENCES, DIMENSIONS, METRICS};

pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

pub(crate) fn report_description(rng: &mut StdRng, team: &str) -> String {
    let table = metric_label(rng).replace(' ', "_").to_lowercase();
    match rng.random_range(0..3) {
        0 => format!(
            "Source: analytics.{table}. Refreshed {}.",
            CADENCES[rng.random_range(0..CADENCES.len())]
                .label
                .to_lowercase()
        ),
        1 => format!("Owned by the {team} team. Ask in #data before changing filters."),
        _ => "Excludes test accounts and internal users.".to_owned(),
    }
}

pub(crate) fn edit_description(rng: &mut StdRng) -> String {
    match rng.random_range(0..3) {
        0 => format!(
            "Added a filter on {}.",
            DIMENSIONS[rng.random_range(0..DIMENSIONS.len())].label
        ),
        1 => format!("Fixed double counting of {}.", metric_label(rng)),
        _ => format!(
            "Now reads from analytics.{}_v2.",
            metric_label(rng).replace(' ', "_").to_lowercase()
        ),
    }
}

fn metric_label(rng: &mut StdRng) -> &'static str {
    METRICS[rng.random_range(0..METRICS.len())].label
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
