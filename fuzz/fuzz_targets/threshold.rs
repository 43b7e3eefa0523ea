//! Threshold expressions (`p95 < 500ms`, `"GET /": error_rate < 1%`) and watch
//! conditions (`error_rate > 5%`): parsed, printed and parsed again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = text.parse::<shipgate_stats::Threshold>() {
        let again: shipgate_stats::Threshold = t
            .to_string()
            .parse()
            .unwrap_or_else(|e| panic!("{t} does not parse back: {e}"));
        assert_eq!(again.to_string(), t.to_string());
    }
    let _ = shipgate_load::parse_thresholds(&[text.to_owned()]);
    let _ = shipgate_watch::Condition::parse(text);
});
