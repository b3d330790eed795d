//! M3's item and customer masters as the syncs' checks read them (`ferry sandbox --demo`
//! compares QuoteWerks against these).

use rusqlite::Connection;
use serde::Serialize;

/// An item with its warehouse balances.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ItemRecord {
    pub itno: String,
    pub itds: String,
    pub stat: String,
    /// The list (sales) price.
    pub sapr: String,
    pub balances: Vec<BalanceRecord>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BalanceRecord {
    pub whlo: String,
    /// On hand.
    pub stqt: String,
    /// Allocated.
    pub alqt: String,
}

/// A customer (templates left out).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CustomerRecord {
    pub cuno: String,
    pub cunm: String,
    pub mail: String,
    pub town: String,
}

pub fn read_items(conn: &Connection) -> rusqlite::Result<Vec<ItemRecord>> {
    let mut st = conn.prepare("SELECT itno, itds, stat, sapr FROM items ORDER BY itno")?;
    let mut items: Vec<ItemRecord> = st
        .query_map([], |r| {
            Ok(ItemRecord {
                itno: r.get(0)?,
                itds: r.get(1)?,
                stat: r.get(2)?,
                sapr: r.get(3)?,
                balances: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut bal =
        conn.prepare("SELECT whlo, stqt, alqt FROM balances WHERE itno = ?1 ORDER BY whlo")?;
    for item in &mut items {
        item.balances = bal
            .query_map([&item.itno], |r| {
                Ok(BalanceRecord {
                    whlo: r.get(0)?,
                    stqt: r.get(1)?,
                    alqt: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(items)
}

pub fn read_customers(conn: &Connection) -> rusqlite::Result<Vec<CustomerRecord>> {
    let mut st = conn.prepare(
        "SELECT cuno, cunm, mail, town FROM customers WHERE is_template = 0 ORDER BY cuno",
    )?;
    st.query_map([], |r| {
        Ok(CustomerRecord {
            cuno: r.get(0)?,
            cunm: r.get(1)?,
            mail: r.get(2)?,
            town: r.get(3)?,
        })
    })?
    .collect()
}
