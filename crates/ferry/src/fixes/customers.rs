//! The candidate M3 customers for a quote's customer Ferry could not match: the same e-mail or
//! e-mail domain, the same company once legal forms and punctuation are set aside, a name that
//! is close, the same phone, the same postal code.

use ferry_domain::names::{company_key, company_words};

use super::text::{Rarity, either};
use super::{Suggestion, rank};

/// A customer as either side describes it (every field optional but the id of an M3 record).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Party {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_code: Option<String>,
}

/// Mail providers whose domain says nothing about the company.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
];

/// A name signal this weak is a shared common word ("supply", "industrial").
const NAME_NOISE: f64 = 0.4;

pub struct CustomerIndex {
    customers: Vec<(Party, String, Vec<String>)>,
    rarity: Rarity,
}

impl CustomerIndex {
    pub fn new(customers: Vec<Party>) -> Self {
        let customers: Vec<_> = customers
            .into_iter()
            .map(|c| {
                let key = company_key(&c.name);
                let words = key_words(&c.name);
                (c, key, words)
            })
            .collect();
        let rarity = Rarity::of(customers.iter().map(|(_, _, w)| w.as_slice()));
        CustomerIndex { customers, rarity }
    }

    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// Best first, at most five, each with why it matched.
    pub fn suggest(&self, quoted: &Party) -> Vec<Suggestion> {
        let key = company_key(&quoted.name);
        let words = key_words(&quoted.name);
        let email = quoted.email.as_deref().map(|e| e.trim().to_lowercase());
        let domain = email.as_deref().and_then(company_domain);
        let phone = quoted.phone.as_deref().and_then(phone_key);
        let postal = quoted.postal_code.as_deref().map(postal_key);
        let all = self
            .customers
            .iter()
            .map(|(c, c_key, c_words)| {
                let mut why = Vec::new();
                let mut score = 0.0;
                let c_email = c.email.as_deref().map(|e| e.trim().to_lowercase());
                if email.is_some() && email == c_email {
                    why.push(format!("same e-mail {}", c_email.unwrap_or_default()));
                    score = either(score, 0.95);
                } else if let Some(d) = &domain
                    && c_email.as_deref().and_then(company_domain).as_ref() == Some(d)
                {
                    // A company's own mail domain names the company: stronger than a name that
                    // is merely alike (another company's), weaker than the same address.
                    why.push(format!("same e-mail domain {d}"));
                    score = either(score, 0.8);
                }
                if !key.is_empty() && key == *c_key {
                    why.push(format!(
                        "same company name once legal form, punctuation and case are set aside ({})",
                        c.name
                    ));
                    score = either(score, 0.9);
                } else {
                    let (alike, matched) = self.rarity.similarity(&words, c_words);
                    if alike >= NAME_NOISE {
                        why.push(format!("name shares {}", matched.join(", ")));
                        score = either(score, 0.85 * alike);
                    }
                }
                if phone.is_some() && phone == c.phone.as_deref().and_then(phone_key) {
                    why.push("same phone number".into());
                    score = either(score, 0.7);
                }
                // Alone a postal code proves nothing; beside another reason it tips the balance.
                if score > 0.0
                    && postal.is_some()
                    && postal == c.postal_code.as_deref().map(postal_key)
                {
                    why.push("same postal code".into());
                    score = either(score, 0.3);
                }
                Suggestion {
                    id: c.id.clone(),
                    label: c.name.clone(),
                    score,
                    why,
                }
            })
            .collect();
        rank(all)
    }
}

/// The words of a company's comparable name (legal forms dropped).
fn key_words(name: &str) -> Vec<String> {
    let key = company_key(name);
    let words: Vec<String> = key
        .split(' ')
        .filter(|w| w.len() >= 2)
        .map(String::from)
        .collect();
    if words.is_empty() {
        company_words(name)
    } else {
        words
    }
}

/// The domain of a company e-mail address; none for a free mail provider.
fn company_domain(email: &str) -> Option<String> {
    let (_, domain) = email.rsplit_once('@')?;
    let domain = domain.trim().to_lowercase();
    (!domain.is_empty() && !FREE_MAIL.contains(&domain.as_str())).then_some(domain)
}

/// The last ten digits of a phone number (country codes and punctuation vary); none when it
/// has fewer than seven digits.
fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 7).then(|| digits[digits.len().saturating_sub(10)..].to_string())
}

fn postal_key(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: &str, name: &str, email: &str) -> Party {
        Party {
            id: id.into(),
            name: name.into(),
            email: (!email.is_empty()).then(|| email.into()),
            ..Party::default()
        }
    }

    fn index() -> CustomerIndex {
        CustomerIndex::new(vec![
            party("10001", "ACME Limited", "orders@acme.example"),
            party("10002", "Acme Tools Ltd", "info@acmetools.example"),
            party("10003", "Northwind Fluid Power", "buy@northwind.example"),
        ])
    }

    #[test]
    fn a_renamed_legal_form_is_the_same_company_and_says_so() {
        let found = index().suggest(&party("", "Acme, Ltd.", ""));
        assert_eq!(found[0].id, "10001");
        assert!(found[0].why[0].contains("legal form"), "{:?}", found[0].why);
    }

    #[test]
    fn a_company_mail_domain_outweighs_a_similar_name() {
        let found = index().suggest(&party("", "Acme Tool Co", "jane@acme.example"));
        assert_eq!(found[0].id, "10001", "{found:?}");
        assert!(
            found.iter().any(|s| s.id == "10002"),
            "the similar name is still listed"
        );
    }

    #[test]
    fn a_free_mail_domain_proves_nothing() {
        assert_eq!(company_domain("jane@gmail.com"), None);
        let found = index().suggest(&party("", "Zeta Corp", "jane@gmail.com"));
        assert!(found.is_empty(), "{found:?}");
    }
}
