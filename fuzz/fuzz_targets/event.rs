//! Any bytes as an invocation payload: parsing and key decoding end in a value or a named error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(event) = validate::parse_event(payload)
    {
        let _ = event.created_objects();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = validate::event::decode_key(text);
        let _ = validate::event::classify_key(text);
    }
});
