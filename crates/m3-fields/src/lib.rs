//! The one catalog of Infor M3 MI transactions and fields: which inputs a transaction takes
//! (and which are mandatory), what it returns (type and length), and each field's type and
//! length wherever it appears. The M3 connector (a wasm guest), the M3 simulator and
//! `ferry mapping suggest` all read it, so they cannot drift apart.
//!
//! The data are text files in `data/`, compiled in:
//! - `m3-transaction-fields.txt`: the MI metadata dump of the reference (M3H5), verbatim;
//! - `constructed-transactions.txt`: transactions the dump lacks (CONSTRUCTED, UNVERIFIED);
//! - `order-depth-transactions.txt`: texts, charges, delivery address, credit and invoices
//!   (the M3H5 dump of reference/m3-order-depth.md);
//! - `field-types.txt`: types the dump does not give (input-only fields) or serves wrongly
//!   (amounts the Get/List metadata types as alphanumeric); these win over the dump.
//!
//! May depend on: std only (it compiles into `plugins/m3` for wasm32-wasip2 as well as into the
//! host and the simulator).
//!
//! ```
//! let c = ferry_m3_fields::catalog();
//! let cunm = c.field("CUNM").unwrap();
//! assert_eq!((cunm.ty, cunm.length), (ferry_m3_fields::FieldType::Alpha, 36));
//! assert!(c.get("OIS100MI", "AddBatchHead").unwrap().input("CUNO").unwrap().required);
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

const DUMP: &str = include_str!("../data/m3-transaction-fields.txt");
const CONSTRUCTED: &str = include_str!("../data/constructed-transactions.txt");
const ORDER_DEPTH: &str = include_str!("../data/order-depth-transactions.txt");
const FIELD_TYPES: &str = include_str!("../data/field-types.txt");

/// An MI field type, as the metadata's `@type` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `A`: alphanumeric, blank-padded on output, never longer than its length.
    Alpha,
    /// `N`: a number with a decimal point.
    Numeric,
    /// `D`: a date, `yyyyMMdd` on the wire.
    Date,
}

impl FieldType {
    /// The metadata's one-letter code.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Alpha => "A",
            FieldType::Numeric => "N",
            FieldType::Date => "D",
        }
    }

    fn from_code(c: char) -> Option<Self> {
        match c {
            'A' => Some(FieldType::Alpha),
            'N' => Some(FieldType::Numeric),
            'D' => Some(FieldType::Date),
            _ => None,
        }
    }
}

/// A field's type and length across M3 (a field keeps one meaning everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub ty: FieldType,
    pub length: usize,
}

/// A field a transaction returns, as that transaction's metadata lists it.
#[derive(Debug, Clone)]
pub struct OutField {
    pub name: String,
    pub ty: FieldType,
    pub length: usize,
    pub description: String,
}

/// A field a transaction accepts.
#[derive(Debug, Clone)]
pub struct InField {
    pub name: String,
    pub description: String,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct Transaction {
    pub program: String,
    pub transaction: String,
    pub description: String,
    pub inputs: Vec<InField>,
    pub outputs: Vec<OutField>,
}

impl Transaction {
    pub fn input(&self, name: &str) -> Option<&InField> {
        self.inputs.iter().find(|f| f.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&OutField> {
        self.outputs.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Default)]
pub struct Catalog {
    transactions: Vec<Transaction>,
}

/// The catalog, parsed once per process (or per guest instance).
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::load)
}

/// A field's type and length (see [`Catalog::field`]). Cheaper than [`catalog`]: only the
/// field table is built, borrowing the names from the data, which matters to the connector,
/// whose every call runs in a fresh instance.
pub fn field(name: &str) -> Option<FieldSpec> {
    specs().get(name).copied()
}

fn specs() -> &'static HashMap<&'static str, FieldSpec> {
    static SPECS: OnceLock<HashMap<&'static str, FieldSpec>> = OnceLock::new();
    SPECS.get_or_init(field_specs)
}

impl Catalog {
    /// Parses the data afresh; [`catalog`] keeps one for the process.
    pub fn load() -> Self {
        let mut transactions = parse_transactions(DUMP);
        transactions.extend(parse_transactions(CONSTRUCTED));
        transactions.extend(parse_transactions(ORDER_DEPTH));
        Catalog { transactions }
    }

    pub fn get(&self, program: &str, transaction: &str) -> Option<&Transaction> {
        self.transactions
            .iter()
            .find(|t| t.program == program && t.transaction == transaction)
    }

    /// `"OIS100MI/AddBatchHead"` form of [`Catalog::get`].
    pub fn get_path(&self, path: &str) -> Option<&Transaction> {
        let (program, transaction) = path.split_once('/')?;
        self.get(program, transaction)
    }

    /// The catalog less these transactions (`PGM/TRN`): an older M3 that lacks them.
    pub fn without(mut self, paths: &[String]) -> Self {
        self.transactions.retain(|t| {
            !paths
                .iter()
                .any(|p| p.split_once('/') == Some((t.program.as_str(), t.transaction.as_str())))
        });
        self
    }

    pub fn has_program(&self, program: &str) -> bool {
        self.transactions.iter().any(|t| t.program == program)
    }

    pub fn transactions(&self) -> impl Iterator<Item = &Transaction> {
        self.transactions.iter()
    }

    /// A field's type and length. Numeric when any transaction returns it as a number, a date
    /// when any returns it as a date (the Get/List metadata sometimes serves either as `A`);
    /// the length is the first one listed, M3's convention that an input takes the length of
    /// the output field of the same name. `field-types.txt` overrides both.
    pub fn field(&self, name: &str) -> Option<FieldSpec> {
        field(name)
    }

    /// All fields with a known type, in no particular order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, FieldSpec)> {
        specs().iter().map(|(n, s)| (*n, *s))
    }

    /// The length M3 allows for `field` as an input of `def`: the transaction's own output of
    /// that name, else the field's length anywhere.
    pub fn field_length(&self, def: &Transaction, field: &str) -> Option<usize> {
        def.output(field)
            .map(|f| f.length)
            .or_else(|| self.field(field).map(|s| s.length))
    }
}

/// The field table from the OUT lists of both dumps, then `field-types.txt`.
fn field_specs() -> HashMap<&'static str, FieldSpec> {
    let mut specs: HashMap<&'static str, FieldSpec> = HashMap::new();
    let outs = [DUMP, CONSTRUCTED, ORDER_DEPTH]
        .into_iter()
        .flat_map(str::lines)
        .filter_map(|l| l.trim_start().strip_prefix("OUT:"))
        .flat_map(|list| list.split(';'));
    for (name, ty, length) in outs.filter_map(type_of) {
        let spec = specs.entry(name).or_insert(FieldSpec { ty, length });
        // A date anywhere is a date; a number anywhere (and not a date) is a number.
        spec.ty = match (spec.ty, ty) {
            (FieldType::Date, _) | (_, FieldType::Date) => FieldType::Date,
            (FieldType::Numeric, _) | (_, FieldType::Numeric) => FieldType::Numeric,
            _ => FieldType::Alpha,
        };
    }
    let notes = FIELD_TYPES
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    for (name, ty, length) in notes.filter_map(type_of) {
        specs.insert(name, FieldSpec { ty, length });
    }
    specs
}

/// `NAME(A10) description` → (name, type, length), borrowing the name.
fn type_of(part: &'static str) -> Option<(&'static str, FieldType, usize)> {
    let part = part.trim();
    let open = part.find('(')?;
    let close = part[open..].find(')')? + open;
    let spec = &part[open + 1..close];
    let ty = FieldType::from_code(spec.chars().next()?)?;
    Some((&part[..open], ty, spec[1..].parse().ok()?))
}

/// Parses the dump's format: `## PGM/TRN: description`, then `IN: NAME description
/// (Required); ...` and `OUT: NAME(A10) description; ...`.
fn parse_transactions(text: &str) -> Vec<Transaction> {
    let mut out: Vec<Transaction> = Vec::new();
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("## ") {
            let (key, description) = head.split_once(": ").unwrap_or((head, ""));
            let Some((program, transaction)) = key.split_once('/') else {
                continue;
            };
            out.push(Transaction {
                program: program.trim().to_string(),
                transaction: transaction.trim().to_string(),
                description: description.trim().to_string(),
                inputs: Vec::new(),
                outputs: Vec::new(),
            });
        } else if let Some(rest) = line.trim_start().strip_prefix("IN:") {
            if let Some(t) = out.last_mut() {
                t.inputs = rest.split(';').filter_map(parse_in).collect();
            }
        } else if let Some(rest) = line.trim_start().strip_prefix("OUT:")
            && let Some(t) = out.last_mut()
        {
            t.outputs = rest.split(';').filter_map(parse_out).collect();
        }
    }
    out
}

fn parse_in(part: &str) -> Option<InField> {
    let part = part.trim();
    let (name, rest) = part.split_once(' ').unwrap_or((part, ""));
    if name.is_empty() {
        return None;
    }
    Some(InField {
        name: name.to_string(),
        description: rest.replace("(Required)", "").trim().to_string(),
        required: rest.contains("(Required)"),
    })
}

fn parse_out(part: &str) -> Option<OutField> {
    let part = part.trim();
    let open = part.find('(')?;
    let close = part[open..].find(')')? + open;
    let spec = &part[open + 1..close];
    Some(OutField {
        name: part[..open].to_string(),
        ty: FieldType::from_code(spec.chars().next()?)?,
        length: spec[1..].parse().ok()?,
        description: part[close + 1..].trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_carry_required_inputs_and_typed_outputs() {
        let c = catalog();
        let t = c.get("OIS100MI", "AddBatchHead").expect("AddBatchHead");
        assert!(t.input("CUNO").is_some_and(|f| f.required));
        assert!(t.input("CUOR").is_some_and(|f| !f.required));
        assert_eq!(t.outputs[0].name, "ORNO");
        assert_eq!(t.outputs[0].length, 10);
        assert!(
            c.get("OIS100MI", "LstWarehBalance").is_some(),
            "constructed"
        );
        assert!(
            c.get("OIS100MI", "AddHead").is_none(),
            "not an M3 transaction"
        );
        assert!(c.has_program("CRS610MI") && !c.has_program("XYZ999MI"));
    }

    #[test]
    fn a_field_has_one_type_and_length() {
        let c = catalog();
        let spec = |n: &str| c.field(n).map(|s| (s.ty, s.length));
        assert_eq!(spec("CUOR"), Some((FieldType::Alpha, 20)));
        assert_eq!(spec("ITNO"), Some((FieldType::Alpha, 15)));
        // GetLine serves ORQT as A16, GetItmWhsBal-like lists as N17: it is a number.
        assert_eq!(c.field("ORQT").map(|s| s.ty), Some(FieldType::Numeric));
        assert_eq!(spec("RLDT").map(|s| s.0), Some(FieldType::Date));
        // From field-types.txt: input-only, and A in the metadata but an amount.
        assert_eq!(spec("CUTM"), Some((FieldType::Alpha, 10)));
        assert_eq!(spec("FDED").map(|s| s.0), Some(FieldType::Date));
        assert_eq!(spec("DIA1").map(|s| s.0), Some(FieldType::Numeric));
        assert_eq!(c.field("NOPE"), None);
    }

    #[test]
    fn an_input_takes_its_transactions_output_length_else_the_fields() {
        let c = catalog();
        let get = c.get("CRS610MI", "GetBasicData").expect("GetBasicData");
        assert_eq!(c.field_length(get, "CUNM"), Some(36));
        let add = c.get("CRS610MI", "Add").expect("Add");
        assert_eq!(c.field_length(add, "CUTM"), Some(10));
    }
}
