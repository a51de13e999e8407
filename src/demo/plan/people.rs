//! Planning the people: team spaces, members with their personal spaces,
//! and the few members who leave.

use std::collections::HashSet;

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::{MAX_ATTEMPTS, Plan, TokenKind};
use crate::demo::config::ActivityConfig;
use crate::demo::entities::{Member, Planned, Space};
use crate::demo::random::{between, pick};
use crate::demo::time::MS_PER_SECOND;
use crate::demo::words::{FIRST_NAMES, LAST_NAMES, TEAM_SPACES};

impl Plan {
    pub(super) fn plan_shared_spaces(&mut self, rng: &mut StdRng) {
        let setup_end = self.setup_end();
        // The last team space is the one deleted; it needs a replacement.
        let deleted_space = (self.shared_spaces >= 2).then(|| self.shared_spaces - 1);
        for index in 0..self.shared_spaces {
            let initial = index == 0 || Some(index) == deleted_space || rng.random_bool(0.7);
            let created = if initial {
                rng.random_range(self.start..setup_end)
            } else {
                rng.random_range(setup_end..self.start + self.span / 2)
            };
            let deleted = (Some(index) == deleted_space).then(|| {
                rng.random_range(
                    self.start + self.span * 85 / 100..self.start + self.span * 95 / 100,
                )
            });
            let base = TEAM_SPACES[index % TEAM_SPACES.len()];
            let name = match index / TEAM_SPACES.len() {
                0 => base.to_owned(),
                round => format!("{base} {}", round + 1),
            };
            let (space_type, description) = if index == 0 {
                (
                    "community",
                    "Reports everyone in the workspace can see.".to_owned(),
                )
            } else {
                ("custom", format!("Reports maintained by the {name} team."))
            };
            let space = self.spaces.len();
            self.spaces.push(Space {
                token: self.token(TokenKind::Space, space as u64),
                name,
                description: Some(description),
                space_type,
                created,
                deleted,
            });
            self.events.push((created, Planned::SpaceUpserted(space)));
            if let Some(deleted) = deleted {
                self.events.push((deleted, Planned::SpaceDeleted(space)));
            }
        }
    }

    pub(super) fn plan_members(&mut self, config: &ActivityConfig, rng: &mut StdRng) {
        let domain = config.company_domain.to_lowercase();
        let onboarding_end = self.start + self.span / 30;
        let mut emails = HashSet::new();
        let mut usernames = HashSet::new();
        let mut taken_names = HashSet::new();
        for index in 0..config.members {
            // Most of the team arrives in the first weeks; the rest join later.
            let joined = if index == 0 {
                self.start
            } else if rng.random_bool(0.7) {
                rng.random_range(self.start + 1..onboarding_end)
            } else {
                rng.random_range(onboarding_end..self.end - self.span / 10)
            };
            // Namesakes happen, but rarely: redraw a taken name a few times
            // before numbering the email.
            let mut draw = || (pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES));
            let mut names = draw();
            for _ in 0..MAX_ATTEMPTS {
                if !taken_names.contains(&names) {
                    break;
                }
                names = draw();
            }
            taken_names.insert(names);
            let (first, last) = names;
            let ascii = |text: &str| -> String {
                text.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_lowercase()
            };
            let local = unique(&mut emails, format!("{}.{}", ascii(first), ascii(last)));
            let username = unique(
                &mut usernames,
                format!("{}{}", ascii(&first[..1]), ascii(last)),
            );
            let personal_space = self.spaces.len();
            let name = format!("{first} {last}");
            self.members.push(Member {
                email: format!("{local}@{domain}"),
                username,
                name: name.clone(),
                joined,
                removed: None,
                personal_space,
            });
            let space_created = joined + rng.random_range(MS_PER_SECOND..5 * MS_PER_SECOND);
            self.spaces.push(Space {
                token: self.token(TokenKind::Space, personal_space as u64),
                name: format!("{name} (personal)"),
                description: None,
                space_type: "private",
                created: space_created,
                deleted: None,
            });
            self.events.push((joined, Planned::MemberUpserted(index)));
            self.events
                .push((space_created, Planned::SpaceUpserted(personal_space)));
        }

        // A couple of people leave late in the period; their reports stay.
        let leaving = match config.members {
            0..10 => 0,
            members => (members / 30).max(1),
        };
        let mut candidates: Vec<usize> = (1..config.members).collect();
        candidates.shuffle(rng);
        for &index in candidates.iter().take(leaving) {
            let member = &mut self.members[index];
            let earliest = (member.joined + self.span / 20).max(self.start + self.span * 6 / 10);
            if let Some(removed) = between(rng, earliest, self.end - self.span / 50) {
                member.removed = Some(removed);
                self.events.push((removed, Planned::MemberRemoved(index)));
            }
        }
    }
}

/// `wanted`, or `wanted` with the smallest number from 2 up that makes it
/// not yet taken; taken from then on.
fn unique(taken: &mut HashSet<String>, wanted: String) -> String {
    if taken.insert(wanted.clone()) {
        return wanted;
    }
    (2..)
        .map(|n| format!("{wanted}{n}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .unwrap_or(wanted)
}
