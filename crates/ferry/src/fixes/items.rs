//! The closest M3 items to a part number M3 does not know: by the number itself (typos,
//! look-alike characters, a vendor prefix, punctuation) and by the quote line's description.

use super::text::{Rarity, either, words};
use super::{Suggestion, rank};

/// An item M3 sells, as the suggestions need it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogItem {
    pub itno: String,
    pub description: String,
}

/// The quote line M3 refused: its part number and, when the quote has one, its description.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownItem {
    pub itno: String,
    pub description: Option<String>,
}

/// A catalog prepared for suggestions (the words' rarity computed once).
pub struct ItemIndex {
    items: Vec<(CatalogItem, String, Vec<String>)>,
    rarity: Rarity,
}

/// A number signal this weak is chance (same category prefix), not a resemblance.
const NUMBER_NOISE: f64 = 0.6;
/// A description signal this weak is a shared generic word.
const WORDS_NOISE: f64 = 0.25;

impl ItemIndex {
    pub fn new(catalog: Vec<CatalogItem>) -> Self {
        let items: Vec<_> = catalog
            .into_iter()
            .map(|item| {
                let key = number_key(&item.itno);
                let w = words(&item.description);
                (item, key, w)
            })
            .collect();
        let rarity = Rarity::of(items.iter().map(|(_, _, w)| w.as_slice()));
        ItemIndex { items, rarity }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Best first, at most five, each with its reasons.
    pub fn suggest(&self, unknown: &UnknownItem) -> Vec<Suggestion> {
        let query_key = number_key(&unknown.itno);
        let query_words = unknown
            .description
            .as_deref()
            .map(words)
            .unwrap_or_default();
        let all = self
            .items
            .iter()
            .filter_map(|(item, key, item_words)| {
                let mut why = Vec::new();
                let (number, said) = number_likeness(&query_key, key);
                let number = if number >= NUMBER_NOISE {
                    why.push(format!(
                        "item number {said}: {} for {}",
                        item.itno, unknown.itno
                    ));
                    number
                } else {
                    0.0
                };
                let (described, matched) = self.rarity.similarity(&query_words, item_words);
                let described = if described >= WORDS_NOISE {
                    why.push(format!("description shares {}", matched.join(", ")));
                    described
                } else {
                    0.0
                };
                let score = either(number, described);
                (score > 0.0).then(|| Suggestion {
                    id: item.itno.clone(),
                    label: item.description.clone(),
                    score,
                    why,
                })
            })
            .collect();
        rank(all)
    }
}

/// Uppercase letters and digits only: `brg-10012` and `BRG 10012` are one number.
fn number_key(itno: &str) -> String {
    itno.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Characters people and OCR confuse, read as one: O/0, I/L/1, S/5, B/8, Z/2.
fn shape(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            'O' | 'Q' | 'D' => '0',
            'I' | 'L' => '1',
            'S' => '5',
            'B' => '8',
            'Z' => '2',
            c => c,
        })
        .collect()
}

/// How alike two item numbers are (0..1) and the words for it.
fn number_likeness(query: &str, item: &str) -> (f64, String) {
    if query.is_empty() || item.is_empty() {
        return (0.0, String::new());
    }
    if query == item {
        return (1.0, "the same apart from case, spaces and dashes".into());
    }
    if shape(query) == shape(item) {
        return (
            0.97,
            "the same but for look-alike characters (O/0, I/1)".into(),
        );
    }
    let (short, long) = if query.len() <= item.len() {
        (query, item)
    } else {
        (item, query)
    };
    if short.len() >= 5 && long.contains(short) {
        return (0.9, "the same inside a prefix or suffix".into());
    }
    let edits = strsim::damerau_levenshtein(&shape(query), &shape(item));
    let likeness = 1.0 - edits as f64 / long.len().max(1) as f64;
    let said = match edits {
        1 => "one character off".to_string(),
        n => format!("{n} characters off"),
    };
    (likeness, said)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ItemIndex {
        ItemIndex::new(vec![
            CatalogItem {
                itno: "BRG10012".into(),
                description: "SKF Deep groove ball bearing 6204, industrial grade".into(),
            },
            CatalogItem {
                itno: "BRG10013".into(),
                description: "Timken Tapered roller bearing 30205, industrial grade".into(),
            },
            CatalogItem {
                itno: "HYD10014".into(),
                description: "Parker Hydraulic hose 1/2in, industrial grade".into(),
            },
        ])
    }

    #[test]
    fn a_look_alike_character_in_the_number_finds_the_item_first() {
        let found = catalog().suggest(&UnknownItem {
            itno: "BRG1OO12".into(),
            description: None,
        });
        assert_eq!(found[0].id, "BRG10012");
        assert!(found[0].why[0].contains("look-alike"), "{:?}", found[0].why);
    }

    #[test]
    fn a_different_number_with_the_items_description_finds_it_by_words() {
        let found = catalog().suggest(&UnknownItem {
            itno: "6204-2RS".into(),
            description: Some("deep groove bearing 6204".into()),
        });
        assert_eq!(found[0].id, "BRG10012");
        assert!(
            found[0].why.iter().any(|w| w.contains("groove")),
            "{:?}",
            found[0].why
        );
    }

    #[test]
    fn nothing_alike_suggests_nothing() {
        let found = catalog().suggest(&UnknownItem {
            itno: "ZZZ".into(),
            description: Some("office chair".into()),
        });
        assert!(found.is_empty(), "{found:?}");
    }
}
