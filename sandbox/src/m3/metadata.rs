//! MI transaction metadata: input fields (which are mandatory) and output fields (type, length),
//! parsed from the field dump in reference/m3-transaction-fields.txt, so every response carries
//! the real field list in the real order with the real lengths.

use std::collections::HashMap;

const FIELD_DUMP: &str = include_str!("../../data/m3-transaction-fields.txt");
// LstWarehBalance is documented (reference/m3-api.md §3.5: ITNO in; WHLO, AV01, AV02 out) but
// missing from the dump; its extra output fields are CONSTRUCTED, UNVERIFIED.
const SANDBOX_DUMP: &str = include_str!("../../data/sandbox-transactions.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Alphanumeric.
    A,
    /// Numeric.
    N,
    /// Date (yyyyMMdd).
    D,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::A => "A",
            FieldType::N => "N",
            FieldType::D => "D",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutField {
    pub name: String,
    pub ty: FieldType,
    pub length: usize,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct InField {
    pub name: String,
    pub description: String,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct TransactionDef {
    pub program: String,
    pub transaction: String,
    pub description: String,
    pub inputs: Vec<InField>,
    pub outputs: Vec<OutField>,
}

impl TransactionDef {
    pub fn input(&self, name: &str) -> Option<&InField> {
        self.inputs.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Default)]
pub struct Catalog {
    transactions: HashMap<(String, String), TransactionDef>,
    /// Length of a field name wherever it appears as an output; M3 fields keep one length
    /// everywhere, so this is also the input length limit.
    field_lengths: HashMap<String, usize>,
}

impl Catalog {
    pub fn load() -> Self {
        let mut c = Catalog::default();
        for dump in [FIELD_DUMP, SANDBOX_DUMP] {
            c.parse(dump);
        }
        c
    }

    fn parse(&mut self, text: &str) {
        let mut current: Option<TransactionDef> = None;
        for line in text.lines() {
            if let Some(head) = line.strip_prefix("## ") {
                if let Some(t) = current.take() {
                    self.insert(t);
                }
                let (key, description) = head.split_once(": ").unwrap_or((head, ""));
                let Some((program, transaction)) = key.split_once('/') else {
                    continue;
                };
                current = Some(TransactionDef {
                    program: program.trim().to_string(),
                    transaction: transaction.trim().to_string(),
                    description: description.trim().to_string(),
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                });
            } else if let Some(rest) = line.trim_start().strip_prefix("IN: ") {
                if let Some(t) = current.as_mut() {
                    t.inputs = rest.split("; ").filter_map(parse_in).collect();
                }
            } else if let Some(rest) = line.trim_start().strip_prefix("OUT: ")
                && let Some(t) = current.as_mut()
            {
                t.outputs = rest.split("; ").filter_map(parse_out).collect();
            }
        }
        if let Some(t) = current.take() {
            self.insert(t);
        }
    }

    fn insert(&mut self, t: TransactionDef) {
        for f in &t.outputs {
            // Keep the first seen length: the dump lists Get transactions before their List
            // variants, whose numeric columns are sometimes typed differently.
            self.field_lengths.entry(f.name.clone()).or_insert(f.length);
        }
        self.transactions
            .insert((t.program.clone(), t.transaction.clone()), t);
    }

    pub fn get(&self, program: &str, transaction: &str) -> Option<&TransactionDef> {
        self.transactions
            .get(&(program.to_string(), transaction.to_string()))
    }

    pub fn has_program(&self, program: &str) -> bool {
        self.transactions.keys().any(|(p, _)| p == program)
    }

    pub fn field_length(&self, def: &TransactionDef, field: &str) -> Option<usize> {
        def.outputs
            .iter()
            .find(|f| f.name == field)
            .map(|f| f.length)
            .or_else(|| self.field_lengths.get(field).copied())
    }
}

fn parse_in(part: &str) -> Option<InField> {
    let part = part.trim();
    let (name, rest) = part.split_once(' ').unwrap_or((part, ""));
    if name.is_empty() {
        return None;
    }
    let required = rest.contains("(Required)");
    Some(InField {
        name: name.to_string(),
        description: rest.replace("(Required)", "").trim().to_string(),
        required,
    })
}

fn parse_out(part: &str) -> Option<OutField> {
    let part = part.trim();
    let open = part.find('(')?;
    let close = part[open..].find(')')? + open;
    let name = &part[..open];
    let spec = &part[open + 1..close];
    let ty = match spec.chars().next()? {
        'A' => FieldType::A,
        'N' => FieldType::N,
        'D' => FieldType::D,
        _ => return None,
    };
    let length = spec[1..].parse().ok()?;
    Some(OutField {
        name: name.to_string(),
        ty,
        length,
        description: part[close + 1..].trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_dump() {
        let c = Catalog::load();
        let t = c.get("OIS100MI", "AddBatchHead").expect("AddBatchHead");
        assert!(t.input("CUNO").is_some_and(|f| f.required));
        assert_eq!(t.outputs[0].name, "ORNO");
        assert_eq!(t.outputs[0].length, 10);
        let g = c.get("CRS610MI", "GetBasicData").expect("GetBasicData");
        assert_eq!(c.field_length(g, "CUNM"), Some(36));
        assert!(c.get("OIS100MI", "LstWarehBalance").is_some());
        assert!(c.get("OIS100MI", "AddHead").is_none());
    }
}
