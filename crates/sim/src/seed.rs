//! Deterministic master data shared by both simulators.
//!
//! Customer `i` and item `i` depend only on `(seed, i)`, never on how many records were asked
//! for, so the QuoteWerks simulator can quote "the M3 simulator's customer 7 and item 12" without
//! talking to it: same seed, same names, same e-mails, same item numbers.

use rust_decimal::Decimal;

/// SplitMix64: tiny, fast, and stable across crate versions (a seeded `rand` generator is not
/// guaranteed to produce the same stream after an upgrade, which would silently change fixtures).
#[derive(Debug, Clone)]
pub struct SeedRng(u64);

impl SeedRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for record `index` of stream `stream`, independent of all other records.
    pub fn for_record(seed: u64, stream: u64, index: u64) -> Self {
        let mut r = Self(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.0 ^= r.next_u64() ^ index.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    pub fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive.saturating_sub(lo) + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A uniform float in [0,1), for fault probabilities only (never money).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const STREAM_CUSTOMER: u64 = 1;
const STREAM_ITEM: u64 = 2;
pub const STREAM_QUOTE: u64 = 3;

/// The warehouses every item is stocked in: (WHLO, name, FACI).
pub const WAREHOUSES: &[(&str, &str, &str)] = &[
    ("100", "Central Warehouse Chicago", "A01"),
    ("200", "Distribution Center Newark", "A01"),
    ("300", "Distribution Center Reno", "A02"),
];

/// Company 100 and division AAA, the values used throughout Infor's own examples.
pub const CONO: &str = "100";
pub const DIVI: &str = "AAA";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedCustomer {
    pub index: usize,
    pub cuno: String,
    pub name: String,
    pub contact_first: String,
    pub contact_last: String,
    pub address1: String,
    pub address2: String,
    pub town: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    /// M3 customer status: "20" definite, "10" preliminary (cannot order).
    pub stat: String,
    /// Customer discount percent used by OIS320MI/GetPriceLine.
    pub discount_percent: Decimal,
    pub warehouse: String,
}

impl SeedCustomer {
    pub fn contact_name(&self) -> String {
        format!("{} {}", self.contact_first, self.contact_last)
    }
}

const NAME_A: &[&str] = &[
    "Northwind",
    "Bluestone",
    "Harbor Point",
    "Redwood",
    "Granite Ridge",
    "Lakeshore",
    "Summit",
    "Ironbridge",
    "Cedar Valley",
    "Prairie",
    "Silver Creek",
    "Oakmont",
    "Riverside",
    "Keystone",
    "Pioneer",
    "Westfield",
    "Crescent",
    "Evergreen",
    "Highland",
    "Maple Leaf",
    "Atlas",
    "Beacon",
    "Copperfield",
    "Fairview",
    "Liberty",
    "Meridian",
    "Pinecrest",
    "Stonegate",
    "Tri-County",
    "Union",
];
const NAME_B: &[&str] = &[
    "Fluid Power",
    "Industrial Supply",
    "Machining",
    "Packaging",
    "Automation",
    "Fabrication",
    "Plastics",
    "Food Processing",
    "Mining Equipment",
    "Conveyor Systems",
    "Marine Services",
    "Tool & Die",
    "Metal Works",
    "Logistics",
    "Energy Services",
    "Paper Mills",
    "Robotics",
    "Water Systems",
    "Agri Products",
    "Precision Parts",
];
const NAME_SUFFIX: &[&str] = &["Inc.", "LLC", "Co.", "Corp.", "Ltd.", "Group"];
const FIRST: &[&str] = &[
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Daniel",
    "Susan", "Carlos", "Aisha", "Kevin", "Mei", "Thomas", "Olga", "Brian", "Priya", "Steven",
    "Hannah",
];
const LAST: &[&str] = &[
    "Johnson", "Garcia", "Miller", "Nguyen", "Anderson", "Lopez", "Thompson", "Patel", "Walker",
    "Kowalski", "Schmidt", "Okafor", "Brennan", "Larsen", "Moreau", "Tanaka", "Rivera", "Fischer",
    "Hughes", "Novak",
];
const STREETS: &[&str] = &[
    "Industrial Pkwy",
    "Commerce Dr",
    "Main St",
    "Harbor Blvd",
    "Airport Rd",
    "Enterprise Ave",
    "Mill St",
    "Lakeview Dr",
    "Foundry Rd",
    "Railroad Ave",
];
/// (town, state, zip prefix, phone area code)
const TOWNS: &[(&str, &str, &str, &str)] = &[
    ("Chicago", "IL", "606", "312"),
    ("Milwaukee", "WI", "532", "414"),
    ("Cleveland", "OH", "441", "216"),
    ("Pittsburgh", "PA", "152", "412"),
    ("Houston", "TX", "770", "713"),
    ("Denver", "CO", "802", "303"),
    ("Charlotte", "NC", "282", "704"),
    ("Portland", "OR", "972", "503"),
    ("Indianapolis", "IN", "462", "317"),
    ("Minneapolis", "MN", "554", "612"),
    ("Newark", "NJ", "071", "973"),
    ("Reno", "NV", "895", "775"),
];

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Customer number of seeded customer `index`: 7 digits from 1000001, a common M3 numbering.
pub fn customer_number(index: usize) -> String {
    format!("{}", 1_000_001 + index)
}

pub fn customer(seed: u64, index: usize) -> SeedCustomer {
    let mut r = SeedRng::for_record(seed, STREAM_CUSTOMER, index as u64);
    // A stride coprime with the combination count makes names unique for the first
    // |A|*|B|*|S| customers; beyond that a branch number keeps them unique.
    let combos = NAME_A.len() * NAME_B.len() * NAME_SUFFIX.len();
    let offset = (seed % combos as u64) as usize;
    let k = (index.wrapping_mul(7919) + offset) % combos;
    let a = NAME_A[k % NAME_A.len()];
    let b = NAME_B[(k / NAME_A.len()) % NAME_B.len()];
    let s = NAME_SUFFIX[k / (NAME_A.len() * NAME_B.len())];
    let mut name = format!("{a} {b} {s}");
    if index >= combos {
        name = format!("{a} {b} #{} {s}", index / combos + 1);
    }
    let first = r.pick(FIRST).to_string();
    let last = r.pick(LAST).to_string();
    let &(town, state, zip, area) = r.pick(TOWNS);
    let domain = format!("{}.example.com", slug(&format!("{a} {b}")));
    let email = format!(
        "{}.{}@{}",
        first.to_lowercase(),
        last.to_lowercase(),
        domain
    );
    let stat = if index % 10 == 7 { "10" } else { "20" };
    let discount_percent = Decimal::new((r.below(4) * 25) as i64, 1); // 0, 2.5, 5, 7.5 %
    SeedCustomer {
        index,
        cuno: customer_number(index),
        name,
        address1: format!("{} {}", r.range(100, 9899), r.pick(STREETS)),
        address2: if r.below(4) == 0 {
            format!("Suite {}", r.range(100, 450))
        } else {
            String::new()
        },
        town: town.to_string(),
        state: state.to_string(),
        postal_code: format!("{zip}{:02}", r.below(100)),
        country: "US".to_string(),
        phone: format!("+1 {area} 555 {:04}", r.range(100, 9999)),
        email,
        contact_first: first,
        contact_last: last,
        stat: stat.to_string(),
        discount_percent,
        warehouse: WAREHOUSES[index % WAREHOUSES.len()].0.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedItem {
    pub index: usize,
    pub itno: String,
    /// ITDS, at most 30 characters (M3's A30).
    pub name: String,
    /// FUDS, at most 60 characters.
    pub description: String,
    /// "20" released, "90" discontinued (cannot be sold), "50" use-then-discontinue, "10" preliminary.
    pub stat: String,
    pub unit: String,
    pub item_group: String,
    pub product_group: String,
    pub item_type: String,
    pub manufacturer: String,
    pub sales_price: Decimal,
    pub cost_price: Decimal,
    /// On-hand per warehouse, in the order of [`WAREHOUSES`].
    pub stock: Vec<Decimal>,
    /// Days before 2026-01-01 the item was last changed (deterministic LMDT).
    pub changed_days_ago: u32,
}

struct Category {
    code: &'static str,
    group: &'static str,
    product_group: &'static str,
    unit: &'static str,
    manufacturers: &'static [&'static str],
    names: &'static [&'static str],
    variants: &'static [&'static str],
    price_cents: (u64, u64),
}

const CATEGORIES: &[Category] = &[
    Category {
        code: "BRG",
        group: "BEARING",
        product_group: "MECH",
        unit: "EA",
        manufacturers: &["SKF", "Timken", "NSK"],
        names: &[
            "Ball bearing",
            "Roller bearing",
            "Pillow block",
            "Needle bearing",
        ],
        variants: &[
            "6204-2RS", "6205-ZZ", "6306-2RS", "UCP205", "NJ210", "22212E",
        ],
        price_cents: (450, 18900),
    },
    Category {
        code: "HYD",
        group: "HYDRAUL",
        product_group: "FLUID",
        unit: "EA",
        manufacturers: &["Parker", "Bosch Rexroth", "Eaton"],
        names: &[
            "Gear pump",
            "Hydraulic hose",
            "Check valve",
            "Hydraulic filter",
        ],
        variants: &["8cc", "1/2in 2m", "SAE-10", "25 micron", "3000psi", "16cc"],
        price_cents: (1800, 89000),
    },
    Category {
        code: "PNE",
        group: "PNEUMAT",
        product_group: "FLUID",
        unit: "EA",
        manufacturers: &["Festo", "SMC", "Norgren"],
        names: &[
            "Air cylinder",
            "Solenoid valve",
            "FRL unit",
            "Push-in fitting",
        ],
        variants: &["32x100", "5/2 24VDC", "1/4 NPT", "8mm", "50x200", "G1/8"],
        price_cents: (290, 42000),
    },
    Category {
        code: "FAS",
        group: "FASTENER",
        product_group: "MRO",
        unit: "BOX",
        manufacturers: &["Fastenal", "Hilti", "Bossard"],
        names: &["Hex bolt", "Lock nut", "Socket screw", "Flat washer"],
        variants: &["M8x40", "M10x60", "M12x50", "1/2-13x2", "M6x20", "3/8-16"],
        price_cents: (650, 7900),
    },
    Category {
        code: "ELC",
        group: "ELECTRIC",
        product_group: "ELEC",
        unit: "EA",
        manufacturers: &["Siemens", "Allen-Bradley", "Omron"],
        names: &["Proximity sensor", "Contactor", "Circuit breaker", "Relay"],
        variants: &[
            "M18 PNP",
            "9A 24V",
            "16A 3P",
            "DPDT 24VDC",
            "M12 NPN",
            "32A 1P",
        ],
        price_cents: (1200, 38000),
    },
    Category {
        code: "SAF",
        group: "SAFETY",
        product_group: "MRO",
        unit: "PR",
        manufacturers: &["3M", "Ansell", "Honeywell"],
        names: &["Work gloves", "Safety glasses", "Ear plugs", "Hard hat"],
        variants: &["size L", "size M", "clear", "anti-fog", "class 4", "vented"],
        price_cents: (199, 4900),
    },
    Category {
        code: "MOT",
        group: "MOTOR",
        product_group: "ELEC",
        unit: "EA",
        manufacturers: &["WEG", "ABB", "Baldor"],
        names: &["AC motor", "Gear motor", "VFD drive", "Servo motor"],
        variants: &["0.75kW", "2.2kW", "5.5kW", "1HP", "3HP", "400W"],
        price_cents: (14900, 289000),
    },
    Category {
        code: "TLS",
        group: "TOOLS",
        product_group: "MRO",
        unit: "EA",
        manufacturers: &["Stanley", "Makita", "Snap-on"],
        names: &[
            "Torque wrench",
            "Cordless drill",
            "Socket set",
            "Pipe wrench",
        ],
        variants: &["1/2in", "18V", "3/8in 40pc", "14in", "20-100Nm", "24in"],
        price_cents: (1500, 52000),
    },
];

/// Item number of seeded item `index`, e.g. `BRG10000`: category prefix plus a running number.
pub fn item_number(index: usize) -> String {
    format!(
        "{}{}",
        CATEGORIES[index % CATEGORIES.len()].code,
        10_000 + index
    )
}

pub fn item(seed: u64, index: usize) -> SeedItem {
    let cat = &CATEGORIES[index % CATEGORIES.len()];
    let mut r = SeedRng::for_record(seed, STREAM_ITEM, index as u64);
    let base = r.pick(cat.names);
    let variant = r.pick(cat.variants);
    let manufacturer = r.pick(cat.manufacturers).to_string();
    let mut name = format!("{base} {variant}");
    name.truncate(30);
    let mut description = format!("{manufacturer} {base} {variant}, industrial grade");
    description.truncate(60);
    let stat = match index % 25 {
        13 => "90",
        21 => "50",
        _ => "20",
    };
    let cents = r.range(cat.price_cents.0, cat.price_cents.1);
    let sales_price = Decimal::new(cents as i64, 2);
    let cost_price = (sales_price * Decimal::new(r.range(55, 75) as i64, 2)).round_dp(2);
    let stock = WAREHOUSES
        .iter()
        .map(|_| {
            if r.below(6) == 0 {
                Decimal::ZERO
            } else {
                Decimal::from(r.range(1, 400))
            }
        })
        .collect();
    SeedItem {
        index,
        itno: item_number(index),
        name,
        description,
        stat: stat.to_string(),
        unit: cat.unit.to_string(),
        item_group: cat.group.to_string(),
        product_group: cat.product_group.to_string(),
        item_type: "FG".to_string(),
        manufacturer,
        sales_price,
        cost_price,
        stock,
        changed_days_ago: r.below(365) as u32,
    }
}

/// The numbers of the first `items` seeded items M3 sells (status 20), in seed order.
pub fn sellable_items(seed: u64, items: usize) -> Vec<String> {
    (0..items)
        .map(|i| item(seed, i))
        .filter(|it| it.stat == "20")
        .map(|it| it.itno)
        .collect()
}

/// The first `customers` seeded customers that are definite in M3 (status 20).
pub fn definite_customers(seed: u64, customers: usize) -> Vec<SeedCustomer> {
    (0..customers)
        .map(|i| customer(seed, i))
        .filter(|c| c.stat == "20")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_do_not_depend_on_count_and_names_are_unique() {
        assert_eq!(customer(7, 3), customer(7, 3));
        assert_ne!(customer(7, 3).name, customer(8, 3).name);
        let names: std::collections::HashSet<_> = (0..3000).map(|i| customer(1, i).name).collect();
        assert_eq!(names.len(), 3000);
        let it = item(1, 12);
        assert_eq!(it.itno, item_number(12));
        assert!(it.name.len() <= 30 && it.description.len() <= 60);
    }
}
