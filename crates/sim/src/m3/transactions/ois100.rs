//! OIS100MI customer orders through batch entry: AddBatchHead → AddBatchLine… → Confirm.
//! Lines are validated as they are added (unknown or discontinued item), the customer at head
//! and confirm time (a preliminary customer cannot order), and Confirm allocates stock and
//! turns the temporary batch number into the final order number.

use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;

use super::{Ctx, Event, Input, MiError, Record, num, rec};
use crate::m3::data::{dec, next_number, today};
use crate::seed::DIVI;

struct Customer {
    stat: String,
    whlo: String,
    ortp: String,
    cucd: String,
    smcd: String,
    dipc: Decimal,
    is_template: bool,
}

fn customer(ctx: &Ctx<'_, '_>, cuno: &str) -> Result<Option<Customer>, MiError> {
    Ok(ctx
        .tx
        .query_row(
            "SELECT stat, whlo, ortp, cucd, smcd, dipc, is_template FROM customers WHERE cuno = ?1",
            [cuno],
            |r| {
                Ok(Customer {
                    stat: r.get(0)?,
                    whlo: r.get(1)?,
                    ortp: r.get(2)?,
                    cucd: r.get(3)?,
                    smcd: r.get(4)?,
                    dipc: dec(&r.get::<_, String>(5)?),
                    is_template: r.get::<_, i64>(6)? != 0,
                })
            },
        )
        .optional()?)
}

/// A customer may order only when definite (STAT 20).
fn orderable_customer(ctx: &Ctx<'_, '_>, cuno: &str) -> Result<Customer, MiError> {
    let c = customer(ctx, cuno)?
        .filter(|c| !c.is_template)
        .ok_or_else(|| MiError::not_found("CUNO", "Customer number", cuno))?;
    match c.stat.as_str() {
        "20" => Ok(c),
        "10" => Err(MiError::nok(
            "XST0010",
            "CUNO",
            format!(
                "Customer {cuno} has status 10 - Preliminary and cannot be used on a customer order"
            ),
        )),
        s => Err(MiError::nok(
            "XST0090",
            "CUNO",
            format!("Customer {cuno} has status {s} and is blocked"),
        )),
    }
}

fn warehouse_exists(ctx: &Ctx<'_, '_>, whlo: &str) -> Result<Option<String>, MiError> {
    Ok(ctx
        .tx
        .query_row("SELECT faci FROM warehouses WHERE whlo = ?1", [whlo], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn add_batch_head(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let cuno = input.required("CUNO", "Customer number")?;
    let c = orderable_customer(ctx, cuno)?;
    let whlo = input.opt("WHLO").unwrap_or(&c.whlo).to_string();
    let faci = warehouse_exists(ctx, &whlo)?
        .ok_or_else(|| MiError::not_found("WHLO", "Warehouse", &whlo))?;
    let faci = input.opt("FACI").map(str::to_string).unwrap_or(faci);
    let ordt = input.date("ORDT")?.unwrap_or_else(today);
    let rldt = input.date("RLDT")?.unwrap_or_else(|| ordt.clone());
    let cucd = input.opt("CUCD").unwrap_or(&c.cucd).to_string();
    // An order in another currency than the customer's needs an exchange rate (CRS055).
    let rated: i64 = ctx.tx.query_row(
        "SELECT COUNT(*) FROM currencies WHERE cucd = ?1",
        [&cucd],
        |r| r.get(0),
    )?;
    if cucd != c.cucd && rated == 0 {
        return Err(MiError::nok(
            "XRE0103",
            "CUCD",
            format!("Currency {cucd} does not exist or has no exchange rate"),
        ));
    }
    let orno = next_number(ctx.tx, "batch_order", 9_000_001)?.to_string();
    ctx.tx.execute(
        "INSERT INTO batch_heads (orno, cuno, cuor, ortp, faci, whlo, cucd, ordt, rldt, yref, oref, ofno, smcd, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'open')",
        params![
            orno,
            cuno,
            input.get("CUOR"),
            input.opt("ORTP").unwrap_or(&c.ortp),
            faci,
            whlo,
            cucd,
            ordt,
            rldt,
            input.get("YREF"),
            input.get("OREF"),
            input.get("OFNO"),
            input.opt("SMCD").unwrap_or(&c.smcd),
        ],
    )?;
    Ok(vec![rec([("ORNO", orno)])])
}

fn open_batch(ctx: &Ctx<'_, '_>, orno: &str) -> Result<(String, String), MiError> {
    let row: Option<(String, String, Option<String>, String)> = ctx
        .tx
        .query_row(
            "SELECT state, whlo, final_orno, cuno FROM batch_heads WHERE orno = ?1",
            [orno],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    match row {
        None => Err(MiError::not_found("ORNO", "Batch order", orno)),
        Some((state, _, final_orno, _)) if state == "confirmed" => Err(MiError::nok(
            "XCF0001",
            "ORNO",
            format!(
                "Batch order {orno} is already confirmed as order {}",
                final_orno.unwrap_or_default()
            ),
        )),
        Some((_, whlo, _, cuno)) => Ok((whlo, cuno)),
    }
}

pub fn add_batch_line(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let (head_whlo, _) = open_batch(ctx, orno)?;
    let itno = input
        .required("ITNO", "Item number")
        .map_err(|e| e.on_batch(orno))?;
    let item: Option<(String, String)> = ctx
        .tx
        .query_row(
            "SELECT stat, itds FROM items WHERE itno = ?1",
            [itno],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((stat, itds)) = item else {
        return Err(MiError::not_found("ITNO", "Item number", itno).on_batch(orno));
    };
    // Status 90/99 = discontinued; below 20 = not yet released for sale.
    if stat == "90" || stat == "99" {
        return Err(MiError::nok(
            "XST0090",
            "ITNO",
            format!("Item {itno} has status {stat} - discontinued"),
        )
        .on_batch(orno));
    }
    if stat.as_str() < "20" {
        return Err(MiError::nok(
            "XST0020",
            "ITNO",
            format!("Item {itno} has status {stat} and is not released"),
        )
        .on_batch(orno));
    }
    let orqt = input
        .decimal("ORQT")
        .map_err(|e| e.on_batch(orno))?
        .unwrap_or(Decimal::ZERO);
    if orqt <= Decimal::ZERO {
        return Err(MiError::nok(
            "XQT0001",
            "ORQT",
            "Ordered quantity must be greater than zero",
        )
        .on_batch(orno));
    }
    let whlo = input.opt("WHLO").unwrap_or(&head_whlo).to_string();
    if warehouse_exists(ctx, &whlo)?.is_none() {
        return Err(MiError::not_found("WHLO", "Warehouse", &whlo).on_batch(orno));
    }
    let sapr = input.decimal("SAPR").map_err(|e| e.on_batch(orno))?;
    if sapr.is_some_and(|p| p < Decimal::ZERO) {
        return Err(
            MiError::nok("XPR0001", "SAPR", "Sales price cannot be negative").on_batch(orno),
        );
    }
    let dip1 = input.decimal("DIP1").map_err(|e| e.on_batch(orno))?;
    let dwdt = input
        .date("DWDT")
        .map_err(|e| e.on_batch(orno))?
        .unwrap_or_default();
    let ponr: i64 = ctx.tx.query_row(
        "SELECT COALESCE(MAX(ponr), 0) + 1 FROM batch_lines WHERE orno = ?1",
        [orno],
        |r| r.get(0),
    )?;
    ctx.tx.execute(
        "INSERT INTO batch_lines (orno, ponr, itno, itds, orqt, whlo, sapr, dip1, dwdt, cupo)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            orno,
            ponr,
            itno,
            input.opt("ITDS").unwrap_or(&itds),
            orqt.to_string(),
            whlo,
            sapr.map(|p| p.to_string()),
            dip1.map(|d| d.to_string()).unwrap_or_default(),
            dwdt,
            input.get("CUPO"),
        ],
    )?;
    Ok(vec![rec([
        ("PONR", ponr.to_string()),
        ("POSX", "0".into()),
        ("ATNR", "0".into()),
    ])])
}

struct BatchLine {
    ponr: i64,
    itno: String,
    itds: String,
    orqt: Decimal,
    whlo: String,
    sapr: Option<Decimal>,
    dip1: Option<Decimal>,
    dwdt: String,
    cupo: String,
}

pub fn confirm(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let (_, cuno) = open_batch(ctx, orno)?;
    let c = orderable_customer(ctx, &cuno).map_err(|e| e.on_batch(orno))?;
    let lines: Vec<BatchLine> = {
        let mut st = ctx.tx.prepare(
            "SELECT ponr, itno, itds, orqt, whlo, sapr, dip1, dwdt, cupo FROM batch_lines WHERE orno = ?1 ORDER BY ponr",
        )?;
        st.query_map([orno], |r| {
            Ok(BatchLine {
                ponr: r.get(0)?,
                itno: r.get(1)?,
                itds: r.get(2)?,
                orqt: dec(&r.get::<_, String>(3)?),
                whlo: r.get(4)?,
                sapr: r.get::<_, Option<String>>(5)?.map(|s| dec(&s)),
                dip1: r
                    .get::<_, String>(6)
                    .map(|s| if s.is_empty() { None } else { Some(dec(&s)) })?,
                dwdt: r.get(7)?,
                cupo: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?
    };
    if lines.is_empty() {
        return Err(MiError::nok(
            "XLN0001",
            "ORNO",
            format!("Batch order {orno} has no lines"),
        )
        .on_batch(orno));
    }
    let final_orno = format!(
        "{:010}",
        next_number(ctx.tx, "customer_order", 1_000_000_001)?
    );
    let mut ntam = Decimal::ZERO;
    let mut statuses = Vec::new();
    for l in &lines {
        let (list_price, stat): (String, String) = ctx
            .tx
            .query_row(
                "SELECT sapr, stat FROM items WHERE itno = ?1",
                [&l.itno],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| MiError::not_found("ITNO", "Item number", &l.itno).on_batch(orno))?;
        if stat == "90" || stat == "99" {
            return Err(MiError::nok(
                "XST0090",
                "ITNO",
                format!("Item {} has status {stat} - discontinued", l.itno),
            )
            .on_batch(orno));
        }
        // A manual price keeps only an explicit discount; otherwise the customer's discount applies.
        let (sapr, dip1) = match l.sapr {
            Some(p) => (p, l.dip1.unwrap_or(Decimal::ZERO)),
            None => (dec(&list_price), l.dip1.unwrap_or(c.dipc)),
        };
        let nepr = (sapr * (Decimal::ONE_HUNDRED - dip1) / Decimal::ONE_HUNDRED).round_dp(2);
        let nlam = (nepr * l.orqt).round_dp(2);
        ntam += nlam;
        let (stqt, alqt): (String, String) = ctx
            .tx
            .query_row(
                "SELECT stqt, alqt FROM balances WHERE itno = ?1 AND whlo = ?2",
                params![l.itno, l.whlo],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or_else(|| ("0".into(), "0".into()));
        let free = (dec(&stqt) - dec(&alqt)).max(Decimal::ZERO);
        let alloc = free.min(l.orqt);
        ctx.tx.execute(
            "INSERT INTO balances (itno, whlo, stqt, alqt, lmdt) VALUES (?1, ?2, '0', ?3, ?4)
             ON CONFLICT(itno, whlo) DO UPDATE SET alqt = ?3, lmdt = ?4",
            params![l.itno, l.whlo, (dec(&alqt) + alloc).to_string(), today()],
        )?;
        // 22 = allocated; a line that could not be fully allocated stays at 20.
        let orst = if alloc == l.orqt { "22" } else { "20" };
        statuses.push(orst);
        ctx.tx.execute(
            "INSERT INTO order_lines (orno, ponr, posx, itno, itds, orqt, alqt, whlo, sapr, dip1, nepr, nlam, orst, dwdt, cupo)
             VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                final_orno,
                l.ponr,
                l.itno,
                l.itds,
                l.orqt.to_string(),
                alloc.to_string(),
                l.whlo,
                sapr.to_string(),
                dip1.to_string(),
                nepr.to_string(),
                nlam.to_string(),
                orst,
                l.dwdt,
                l.cupo
            ],
        )?;
    }
    let charges = super::ois100_depth::batch_charge_total(ctx, orno)?;
    super::credit::check_at_confirm(ctx, orno, &cuno, ntam + charges)?;
    let stat = statuses.iter().min().copied().unwrap_or("22").to_string();
    ctx.tx.execute(
        "INSERT INTO orders (orno, batch_orno, cuno, cuor, ortp, faci, whlo, cucd, ordt, rldt, yref, oref, ofno, smcd, stat, ntam, created_at)
         SELECT ?1, orno, cuno, cuor, ortp, faci, whlo, cucd, ordt, rldt, yref, oref, ofno, smcd, ?2, ?3, ?4
         FROM batch_heads WHERE orno = ?5",
        params![final_orno, stat, ntam.to_string(), crate::m3::data::now_rfc3339(), orno],
    )?;
    ctx.tx.execute(
        "UPDATE batch_heads SET state = 'confirmed', final_orno = ?1 WHERE orno = ?2",
        params![final_orno, orno],
    )?;
    ctx.events.push(Event::OrderStatus(final_orno.clone()));
    Ok(vec![rec([("ORNO", final_orno), ("STAT", stat)])])
}

pub fn get_order_no(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let final_orno: Option<Option<String>> = ctx
        .tx
        .query_row(
            "SELECT final_orno FROM batch_heads WHERE orno = ?1",
            [orno],
            |r| r.get(0),
        )
        .optional()?;
    let final_orno = final_orno.ok_or_else(|| MiError::not_found("ORNO", "Batch order", orno))?;
    Ok(vec![rec([("ORNR", final_orno.unwrap_or_default())])])
}

pub fn get_tmp_order_stat(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let row: Option<(Option<String>, String)> = ctx
        .tx
        .query_row(
            "SELECT final_orno, state FROM batch_heads WHERE orno = ?1",
            [orno],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (final_orno, state) = row.ok_or_else(|| MiError::not_found("ORNO", "Batch order", orno))?;
    // Batch statuses (UNVERIFIED codes): 10 = entered, 90 = transferred to a customer order.
    let stat = super::ois100_batch::batch_status(&state);
    Ok(vec![rec([
        ("ORNO", orno.to_string()),
        ("ORNR", final_orno.unwrap_or_default()),
        ("STAT", stat.into()),
    ])])
}

pub fn lst_err_msg_order(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let exists: bool = ctx.tx.query_row(
        "SELECT COUNT(*) FROM batch_heads WHERE orno = ?1",
        [orno],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !exists {
        return Err(MiError::not_found("ORNO", "Batch order", orno));
    }
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(
        "SELECT levl, mdta, tx60, msid FROM batch_errors WHERE orno = ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![orno, limit], |r| {
            Ok(rec([
                ("LEVL", r.get(0)?),
                ("MDTA", r.get(1)?),
                ("TX60", r.get(2)?),
                ("MSID", r.get(3)?),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get_batch_head(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    ctx.tx
        .query_row(
            "SELECT orno, ortp, ordt, faci, cuor, cucd, rldt, yref, oref, ofno, smcd, state FROM batch_heads WHERE orno = ?1",
            [orno],
            |r| {
                let state: String = r.get(11)?;
                Ok(vec![rec([
                    ("ORNO", r.get(0)?),
                    ("ORTP", r.get(1)?),
                    ("ORDT", r.get(2)?),
                    ("STAT", super::ois100_batch::batch_status(&state).into()),
                    ("FACI", r.get(3)?),
                    ("CUOR", r.get(4)?),
                    ("CUCD", r.get(5)?),
                    ("RLDT", r.get(6)?),
                    ("YREF", r.get(7)?),
                    ("OREF", r.get(8)?),
                    ("OFNO", r.get(9)?),
                    ("RESP", r.get(10)?),
                ])])
            },
        )
        .optional()?
        .ok_or_else(|| MiError::not_found("ORNO", "Batch order", orno))
}

const HEAD_COLS: &str = "orno, ortp, ordt, stat, faci, cuor, smcd, yref, cucd, oref, ntam, cuno, whlo, rldt, ofno, batch_orno";

fn head_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let stat: String = r.get(3)?;
    let ntam: String = r.get(10)?;
    Ok(rec([
        ("ORNO", r.get(0)?),
        ("ORTP", r.get(1)?),
        ("ORDT", r.get(2)?),
        ("STAT", stat.clone()),
        ("ORSL", stat.clone()),
        ("ORST", stat),
        ("FACI", r.get(4)?),
        ("CUOR", r.get(5)?),
        ("SMCD", r.get(6)?),
        ("YREF", r.get(7)?),
        ("CUCD", r.get(8)?),
        ("OREF", r.get(9)?),
        ("NTAM", ntam.clone()),
        ("ONET", ntam.clone()),
        ("BRAM", ntam.clone()),
        ("ORVA", ntam.clone()),
        ("TOAM", ntam.clone()),
        ("TOPY", ntam),
        ("VTAM", "0".into()),
        ("CUNO", r.get(11)?),
        ("PYNO", r.get(11)?),
        ("WHLO", r.get(12)?),
        ("RLDT", r.get(13)?),
        ("OFNO", r.get(14)?),
        ("DIVI", DIVI.into()),
        ("TEPY", "N30".into()),
    ]))
}

pub fn get_head(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let row = ctx
        .tx
        .query_row(
            &format!("SELECT {HEAD_COLS} FROM orders WHERE orno = ?1"),
            [orno],
            head_record,
        )
        .optional()?;
    row.map(|r| vec![r])
        .ok_or_else(|| MiError::not_found("ORNO", "Order number", orno))
}

pub fn lst_head(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let cuno = input.required("CUNO", "Customer number")?;
    let from = input.opt("ORSL").unwrap_or("00");
    let to = input.opt("ORST").unwrap_or("99");
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(&format!(
        "SELECT {HEAD_COLS} FROM orders WHERE cuno = ?1 AND stat >= ?2 AND stat <= ?3 ORDER BY orno LIMIT ?4"
    ))?;
    let rows = st
        .query_map(params![cuno, from, to, limit], head_record)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn line_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    Ok(rec([
        ("ITNO", r.get(0)?),
        ("ITDS", r.get(1)?),
        ("ORQT", r.get(2)?),
        ("ALQT", r.get(3)?),
        ("WHLO", r.get(4)?),
        ("SAPR", r.get(5)?),
        ("DIP1", r.get(6)?),
        ("NEPR", r.get(7)?),
        ("NLAM", r.get(8)?),
        ("ORST", r.get(9)?),
        ("DWDT", r.get(10)?),
        ("CUPO", r.get(11)?),
        ("PONR", r.get::<_, i64>(12)?.to_string()),
        ("POSX", r.get::<_, i64>(13)?.to_string()),
        ("CUOR", r.get(14)?),
        ("CUCD", r.get(15)?),
        ("ORQA", r.get(2)?),
        ("SACD", "1".into()),
        ("DLQT", "0".into()),
        ("IVQT", "0".into()),
    ]))
}

const LINE_SELECT: &str = "SELECT l.itno, l.itds, l.orqt, l.alqt, l.whlo, l.sapr, l.dip1, l.nepr, l.nlam, l.orst, l.dwdt, l.cupo, l.ponr, l.posx, o.cuor, o.cucd FROM order_lines l JOIN orders o ON o.orno = l.orno";

pub fn get_line(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let ponr: i64 = input
        .required("PONR", "Line number")?
        .trim()
        .parse()
        .map_err(|_| MiError::nok("XNU0001", "PONR", "Field PONR must be numeric"))?;
    let posx: i64 = input
        .opt("POSX")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    let row = ctx
        .tx
        .query_row(
            &format!("{LINE_SELECT} WHERE l.orno = ?1 AND l.ponr = ?2 AND l.posx = ?3"),
            params![orno, ponr, posx],
            line_record,
        )
        .optional()?;
    row.map(|r| vec![r])
        .ok_or_else(|| MiError::not_found("PONR", "Order line", &format!("{orno}/{ponr}")))
}

pub fn lst_line(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let exists = ctx
        .tx
        .query_row("SELECT COUNT(*) FROM orders WHERE orno = ?1", [orno], |r| {
            r.get::<_, i64>(0)
        })?
        > 0;
    if !exists {
        return Err(MiError::not_found("ORNO", "Order number", orno));
    }
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(&format!(
        "{LINE_SELECT} WHERE l.orno = ?1 ORDER BY l.ponr, l.posx LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![orno, limit], line_record)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn lst_wareh_balance(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let itno = input.required("ITNO", "Item number")?;
    let exists = ctx
        .tx
        .query_row("SELECT COUNT(*) FROM items WHERE itno = ?1", [itno], |r| {
            r.get::<_, i64>(0)
        })?
        > 0;
    if !exists {
        return Err(MiError::not_found("ITNO", "Item number", itno));
    }
    let whlo = input.opt("WHLO").unwrap_or("");
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(
        "SELECT b.whlo, b.itno, w.whnm, b.stqt, b.alqt FROM balances b JOIN warehouses w ON w.whlo = b.whlo
         WHERE b.itno = ?1 AND (?2 = '' OR b.whlo = ?2) ORDER BY b.whlo LIMIT ?3",
    )?;
    let rows = st
        .query_map(params![itno, whlo, limit], |r| {
            let stqt = dec(&r.get::<_, String>(3)?);
            let alqt = dec(&r.get::<_, String>(4)?);
            let net = num(stqt - alqt);
            Ok(rec([
                ("WHLO", r.get(0)?),
                ("ITNO", r.get(1)?),
                ("WHNM", r.get(2)?),
                ("STQT", num(stqt)),
                ("ALQT", num(alqt)),
                ("AV01", net.clone()),
                ("AV02", net),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The order status ladder a confirmed order walks: allocated → picking list → picked →
/// delivered → invoiced.
pub const STATUS_LADDER: &[&str] = &["20", "22", "33", "44", "66", "77"];

pub fn next_status(stat: &str) -> Option<&'static str> {
    let i = STATUS_LADDER.iter().position(|s| *s == stat)?;
    STATUS_LADDER.get(i + 1).copied()
}

/// Move an order (and its lines) to `to`; used by the control API and the status clock.
/// Leaving 20 allocates the remainder (the stock "arrived"); reaching 66 (delivered) issues the
/// stock, so on-hand and allocated both drop.
pub fn set_order_status(ctx: &mut Ctx<'_, '_>, orno: &str, to: &str) -> Result<(), MiError> {
    let from: String = ctx
        .tx
        .query_row("SELECT stat FROM orders WHERE orno = ?1", [orno], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| MiError::not_found("ORNO", "Order number", orno))?;
    let lines: Vec<(i64, String, String, String, String)> = {
        let mut st = ctx
            .tx
            .prepare("SELECT ponr, itno, whlo, orqt, alqt FROM order_lines WHERE orno = ?1")?;
        st.query_map([orno], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?
    };
    for (ponr, itno, whlo, orqt, alqt) in lines {
        let (orqt, alqt) = (dec(&orqt), dec(&alqt));
        let missing = orqt - alqt;
        if missing > Decimal::ZERO {
            adjust_balance(ctx, &itno, &whlo, Decimal::ZERO, missing)?;
        }
        if from.as_str() < "66" && to >= "66" {
            adjust_balance(ctx, &itno, &whlo, -orqt, -orqt)?;
        }
        ctx.tx.execute(
            "UPDATE order_lines SET orst = ?1, alqt = ?2 WHERE orno = ?3 AND ponr = ?4",
            params![to, orqt.to_string(), orno, ponr],
        )?;
        ctx.events.push(Event::Item(itno));
    }
    ctx.tx.execute(
        "UPDATE orders SET stat = ?1 WHERE orno = ?2",
        params![to, orno],
    )?;
    if from.as_str() < "77" && ("77".."90").contains(&to) {
        super::ois350::invoice_order(ctx, orno)?;
    }
    ctx.events.push(Event::OrderStatus(orno.to_string()));
    Ok(())
}

fn adjust_balance(
    ctx: &Ctx<'_, '_>,
    itno: &str,
    whlo: &str,
    d_stqt: Decimal,
    d_alqt: Decimal,
) -> Result<(), MiError> {
    let (stqt, alqt): (String, String) = ctx
        .tx
        .query_row(
            "SELECT stqt, alqt FROM balances WHERE itno = ?1 AND whlo = ?2",
            params![itno, whlo],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_else(|| ("0".into(), "0".into()));
    let stqt = (dec(&stqt) + d_stqt).max(Decimal::ZERO);
    let alqt = (dec(&alqt) + d_alqt).max(Decimal::ZERO);
    ctx.tx.execute(
        "INSERT INTO balances (itno, whlo, stqt, alqt, lmdt) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(itno, whlo) DO UPDATE SET stqt = ?3, alqt = ?4, lmdt = ?5",
        params![itno, whlo, stqt.to_string(), alqt.to_string(), today()],
    )?;
    Ok(())
}
