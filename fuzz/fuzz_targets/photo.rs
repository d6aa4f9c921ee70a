//! Any bytes as an uploaded photo: every check ends in a report or a rejection, within the
//! memory limits (libFuzzer's -rss_limit_mb and -malloc_limit_mb catch unbounded allocation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use validate::photo::{PhotoRules, inspect};

fuzz_target!(|data: &[u8]| {
    let _ = inspect(data, &PhotoRules::default());
});
