//! Words of descriptions and names, weighted by how rare they are among the candidates, and
//! compared forgivingly (a typo in a word still matches it).

use std::collections::HashMap;

/// Two words this alike (Jaro-Winkler) are one word typed twice ("bearnig", "bearing").
const SAME_WORD: f64 = 0.9;

/// Lowercase alphanumeric words of at least two characters.
pub(super) fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_string)
        .collect()
}

/// How rare each word is among a set of texts: ln(N / texts with the word), so "industrial" in
/// every description counts for nothing and "bearing" for a lot.
pub(super) struct Rarity {
    weights: HashMap<String, f64>,
    unseen: f64,
}

impl Rarity {
    pub(super) fn of<'a>(texts: impl Iterator<Item = &'a [String]>) -> Self {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut n = 0usize;
        for words in texts {
            n += 1;
            let mut unique: Vec<&String> = words.iter().collect();
            unique.sort();
            unique.dedup();
            for w in unique {
                *seen.entry(w.clone()).or_default() += 1;
            }
        }
        let total = (n.max(1)) as f64;
        let weights = seen
            .into_iter()
            .map(|(w, df)| (w, (total / df as f64).ln().max(0.0) + 0.05))
            .collect();
        Rarity {
            weights,
            unseen: total.ln() + 0.05,
        }
    }

    fn weight(&self, word: &str) -> f64 {
        self.weights.get(word).copied().unwrap_or(self.unseen)
    }

    /// How much of `query`'s meaning `candidate` carries (0..1): the rarity-weighted share of
    /// the query's words found in the candidate (typos forgiven), blended with the share the
    /// other way so that a candidate of a hundred words does not match everything. Returns the
    /// words that matched, for the reasons shown to the operator.
    pub(super) fn similarity(&self, query: &[String], candidate: &[String]) -> (f64, Vec<String>) {
        if query.is_empty() || candidate.is_empty() {
            return (0.0, Vec::new());
        }
        let mut matched = Vec::new();
        let (mut found, mut total) = (0.0, 0.0);
        for q in query {
            let w = self.weight(q);
            total += w;
            let best = candidate
                .iter()
                .map(|c| strsim::jaro_winkler(q, c))
                .fold(0.0, f64::max);
            if best >= SAME_WORD {
                found += w * best;
                matched.push(q.clone());
            }
        }
        let forward = if total > 0.0 { found / total } else { 0.0 };
        let (mut back, mut back_total) = (0.0, 0.0);
        for c in candidate {
            let w = self.weight(c);
            back_total += w;
            if query
                .iter()
                .any(|q| strsim::jaro_winkler(q, c) >= SAME_WORD)
            {
                back += w;
            }
        }
        let backward = if back_total > 0.0 {
            back / back_total
        } else {
            0.0
        };
        (0.75 * forward + 0.25 * backward, matched)
    }
}

/// Two independent signals combined: either alone can carry a suggestion, both together make it
/// nearly certain (a "noisy or").
pub(super) fn either(a: f64, b: f64) -> f64 {
    1.0 - (1.0 - a.clamp(0.0, 1.0)) * (1.0 - b.clamp(0.0, 1.0))
}
