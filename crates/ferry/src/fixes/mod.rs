//! Suggested fixes for held quotes: for a part number M3 does not know, the closest M3 items;
//! for a customer Ferry could not match, the candidate M3 customers, each with a score and the
//! reasons it was proposed. Pure scoring here (`items`, `customers`); the service that gathers
//! the candidates and records an accepted fix is `services::fixes`.
//!
//! Scores are 0..1 and only rank; the operator decides. Nothing here is applied automatically.

pub mod customers;
pub mod items;
mod text;

#[cfg(test)]
mod hit_rate_tests;

use serde::Serialize;

/// One proposal: what to use instead, how sure, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The M3 key to use (item number or customer number).
    pub id: String,
    /// The M3 record's name or description, for the operator to recognise it.
    pub label: String,
    /// 0..1, best first in a list.
    pub score: f64,
    /// Why it was proposed, in words ("item number one character off: ...").
    pub why: Vec<String>,
}

/// At most this many proposals per hold: the operator reads them all.
pub const MAX_SUGGESTIONS: usize = 5;
/// Below this a candidate is noise, not a suggestion.
pub const MIN_SCORE: f64 = 0.45;

/// Best first, at most [`MAX_SUGGESTIONS`], none below [`MIN_SCORE`]; ties by id so the list is
/// stable between two looks.
fn rank(mut all: Vec<Suggestion>) -> Vec<Suggestion> {
    all.retain(|s| s.score >= MIN_SCORE);
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    all.truncate(MAX_SUGGESTIONS);
    all
}
