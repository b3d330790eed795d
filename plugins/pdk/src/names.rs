//! Matching helpers shared by connectors.

/// Company names compared the way people write them: case, punctuation, "&"/"and", "The" and
/// legal-form suffixes (Inc, Incorporated, LLC, Ltd, GmbH, ...) do not matter.
pub fn normalize_company_name(name: &str) -> String {
    const LEGAL: &[&str] = &[
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "bv",
        "nv",
        "plc",
        "pty",
        "ab",
        "oy",
        "as",
        "srl",
        "spa",
        "sarl",
    ];
    let lowered = name.to_lowercase().replace('&', " and ");
    let cleaned: String = lowered
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    if words.first() == Some(&"the") {
        words.remove(0);
    }
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL.contains(w)) {
        words.pop();
    }
    words.join(" ")
}
