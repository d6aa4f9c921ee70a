//! Any bytes as a listing manifest, a YOLO label file or a CSV table.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = validate::listing::check_manifest(data, "L-1001");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = validate::dataset::yolo::parse_labels(text);
        if let Ok(table) = validate::dataset::table::parse_csv(text) {
            let _ = table.worst_missing_fraction();
            let _ = table.duplicate_fraction();
            for column in table.numeric_columns() {
                let values = table.numeric(column).unwrap_or_default();
                let _ = validate::dataset::table::outlier_fraction(&values);
            }
        }
    }
});
