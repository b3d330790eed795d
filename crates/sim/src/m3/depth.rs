//! What an order carries besides its lines (head fields, texts, charges, a one-time delivery
//! address), read straight from a state directory the way `read_orders_from_state_dir` reads
//! orders: end-to-end tests compare it with the quote. The same rows are what the MI
//! transactions LstHeadText, LstLineText, LstOrderCharge and GetAddress serve.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::data::DB_FILE;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OrderText {
    /// 0 for the head, else the line number (PONR).
    pub ponr: i64,
    /// 1 = pre-text, 2 = post-text.
    pub tytr: i64,
    /// Document class (TXHE).
    pub txhe: String,
    /// One AddBatchText PARM.
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OrderCharge {
    pub crid: String,
    pub cram: String,
    pub crd0: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OrderAddress {
    pub adrt: i64,
    pub cunm: String,
    pub cua1: String,
    pub cua2: String,
    pub town: String,
    pub ecar: String,
    pub pono: String,
    pub cscd: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OrderDepth {
    pub orno: String,
    pub cuor: String,
    pub ofno: String,
    pub yref: String,
    pub cucd: String,
    pub texts: Vec<OrderText>,
    pub charges: Vec<OrderCharge>,
    pub addresses: Vec<OrderAddress>,
}

pub fn read_order_depth(conn: &Connection, orno: &str) -> rusqlite::Result<Option<OrderDepth>> {
    let head = conn
        .query_row(
            "SELECT batch_orno, cuor, ofno, yref, cucd FROM orders WHERE orno = ?1",
            [orno],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    OrderDepth {
                        orno: orno.to_string(),
                        cuor: r.get(1)?,
                        ofno: r.get(2)?,
                        yref: r.get(3)?,
                        cucd: r.get(4)?,
                        ..OrderDepth::default()
                    },
                ))
            },
        )
        .optional()?;
    let Some((batch, mut depth)) = head else {
        return Ok(None);
    };
    let mut st = conn.prepare(
        "SELECT ponr, tytr, txhe, parm FROM batch_texts WHERE orno = ?1 ORDER BY ponr, tytr, id",
    )?;
    depth.texts = st
        .query_map([&batch], |r| {
            Ok(OrderText {
                ponr: r.get(0)?,
                tytr: r.get(1)?,
                txhe: r.get(2)?,
                text: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut st =
        conn.prepare("SELECT crid, cram, crd0 FROM batch_charges WHERE orno = ?1 ORDER BY crid")?;
    depth.charges = st
        .query_map([&batch], |r| {
            Ok(OrderCharge {
                crid: r.get(0)?,
                cram: r.get(1)?,
                crd0: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut st = conn.prepare(
        "SELECT adrt, cunm, cua1, cua2, town, ecar, pono, cscd FROM batch_addresses WHERE orno = ?1 ORDER BY adrt",
    )?;
    depth.addresses = st
        .query_map([&batch], |r| {
            Ok(OrderAddress {
                adrt: r.get(0)?,
                cunm: r.get(1)?,
                cua1: r.get(2)?,
                cua2: r.get(3)?,
                town: r.get(4)?,
                ecar: r.get(5)?,
                pono: r.get(6)?,
                cscd: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(depth))
}

/// [`read_order_depth`] on a state directory, read-only (works while the simulator runs).
pub fn read_order_depth_from_state_dir(
    state_dir: &Path,
    orno: &str,
) -> anyhow::Result<Option<OrderDepth>> {
    let conn = Connection::open_with_flags(
        state_dir.join(DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(read_order_depth(&conn, orno)?)
}
