//! MI transaction metadata: input fields (which are mandatory) and output fields (type, length),
//! so every response carries the real field list in the real order with the real lengths. The
//! catalog is the one shared with the M3 connector and `ferry mapping suggest`
//! (`crates/m3-fields`); this module only names it for the simulator.

pub use ferry_m3_fields::{Catalog, OutField, Transaction as TransactionDef};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_reads_the_shared_catalog() {
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
