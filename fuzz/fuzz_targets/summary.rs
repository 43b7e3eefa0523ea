//! `shipgate-load merge`'s reader of a generator's JSON summary, and the stats
//! snapshot's JSON (the core of the distributed-load wire format).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = shipgate_load::read_summary("fuzz.json", text);
    if let Ok(snapshot) = shipgate_stats::Snapshot::from_json(text) {
        let _ = snapshot.summaries();
        let _ = snapshot.to_json();
    }
});
