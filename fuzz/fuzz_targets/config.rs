//! The configuration reader and every layer's section types: any bytes as a
//! shipgate.toml must give a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipgate_config::{Document, Vars};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vars = Vars::from_pairs([("BASE_URL", "http://127.0.0.1:1"), ("PASSWORD", "pw-1234")]);
    for env in [None, Some("staging")] {
        let Ok(doc) = Document::parse("fuzz.toml", text, env, vars.clone()) else {
            continue;
        };
        if let Ok(Some(load)) = doc.section::<shipgate_load::LoadConfig>("load") {
            let _ = shipgate_load::Plan::from_config(&load);
        }
        let _ = doc.section::<shipgate_checks::ChecksConfig>("checks");
        let _ = shipgate_checks::phase_specs(&doc, "pre", &[]);
        if let Ok(Some(watch)) = doc.section::<shipgate_watch::WatchConfig>("watch") {
            let _ = watch.validate();
        }
        if let Ok(Some(deploy)) = doc.section::<shipgate_deploy::DeployConfig>("deploy") {
            let _ = shipgate_deploy::Plan::from_config(
                &deploy,
                "staging",
                "v1",
                std::path::Path::new("/nonexistent"),
                shipgate_deploy::Hooks::default(),
            );
        }
        if let Ok(Some(p)) = doc.section::<shipgate_pipeline::PipelineConfig>("pipeline") {
            let _ = p.stage("staging", "production");
        }
        let _ = doc.secrets();
    }
});
