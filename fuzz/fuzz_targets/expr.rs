//! Assertions (`status == 200`, `json $.items[0].id > 3`) and captures.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = shipgate_http::Assertion::parse(text);
    let _ = shipgate_http::Capture::parse(text);
    let _ = shipgate_http::JsonPath::parse(text);
});
