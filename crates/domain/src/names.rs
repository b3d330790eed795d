//! Company names as people type them: "Acme Ltd.", "ACME Limited" and "Acme, Ltd" are one
//! company. [`company_key`] is the form two names are compared in, by customer matching and by
//! the suggestions for a held quote.

/// Legal forms and filler words that don't tell two companies apart (lowercase, no dots).
const LEGAL_FORMS: &[&str] = &[
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "lp",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "oy",
    "as",
    "aps",
    "pty",
    "pte",
    "kk",
    "the",
];

/// The comparable form of a company name: lowercase, "&" read as "and", punctuation dropped
/// (so "A.B.C." is "abc"), legal forms and "the" dropped, words joined by one space.
///
/// A name that is nothing but legal forms ("The Company Ltd") keeps its words, so it never
/// compares equal to every other such name by being empty.
pub fn company_key(name: &str) -> String {
    let words = company_words(name);
    let kept: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !LEGAL_FORMS.contains(w))
        .collect();
    if kept.is_empty() {
        words.join(" ")
    } else {
        kept.join(" ")
    }
}

/// The words of a company name, lowercase, with "&" as "and" and dots inside a word removed.
pub fn company_words(name: &str) -> Vec<String> {
    let lowered = name.to_lowercase().replace('&', " and ");
    lowered
        .split(|c: char| {
            c.is_whitespace() || c == ',' || c == '/' || c == '-' || c == '(' || c == ')'
        })
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_forms_punctuation_case_and_ampersand_do_not_tell_companies_apart() {
        let one = company_key("Acme Ltd.");
        for other in ["ACME Limited", "Acme, Ltd", "acme ltd", "The Acme Company"] {
            assert_eq!(company_key(other), one, "{other}");
        }
        assert_eq!(
            company_key("Smith & Sons Inc."),
            company_key("Smith and Sons")
        );
        assert_eq!(company_key("A.B.C. GmbH"), "abc");
    }

    #[test]
    fn different_companies_stay_different() {
        assert_ne!(company_key("Acme Ltd"), company_key("Acme Tools Ltd"));
        assert_ne!(
            company_key("Northwind Supply"),
            company_key("Northwind Fluid Power")
        );
        // Only legal forms: kept, not emptied into a match with every such name.
        assert_eq!(company_key("The Company Ltd"), "the company ltd");
    }
}
