//! Reads an order needs, several transactions of one program in one round trip: the v2 bulk
//! POST when the tenant enters orders in bulk (`order_entry = "bulk"`, which needs v2), else one
//! GET each. Sent as reads only (`bulk_read`): the host may resend them after a 429/503. Each answer is that transaction's first record, none when M3 has no such record,
//! or the failure.

use crate::mi::{Mi, Record};
use ferry_pdk::Error;

/// One Get-style read per entry of `reads` (transaction, inputs), all of `program`.
pub fn get_many(
    mi: &Mi,
    program: &str,
    reads: &[(String, Vec<(String, String)>)],
) -> Result<Vec<Option<Record>>, Error> {
    if reads.is_empty() {
        return Ok(Vec::new());
    }
    if mi.settings.bulk_orders && reads.len() > 1 {
        return mi
            .bulk_read(program, reads)?
            .into_iter()
            .map(|result| match result {
                Ok(records) => Ok(records.into_iter().next()),
                Err(nok) if nok.is_not_found() => Ok(None),
                Err(nok) => Err(nok.classify()),
            })
            .collect();
    }
    reads
        .iter()
        .map(
            |(transaction, inputs)| match mi.get_one(program, transaction, inputs) {
                Ok(r) => Ok(Some(r)),
                Err(Error::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
        )
        .collect()
}
