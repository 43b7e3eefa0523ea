//! `{{name}}` templates: parsed, bound and rendered with and without the variables.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipgate_http::{Template, TemplateVars};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = Template::parse(text) else {
        return;
    };
    let mut vars = TemplateVars::new();
    vars.insert("host".into(), "http://127.0.0.1".into());
    vars.insert("id".into(), "42".into());
    let _ = t.render(&vars);
    let _ = t.render(&TemplateVars::new());
    let _ = t.bind(&vars, &|n| n == "id").render(&vars);
});
