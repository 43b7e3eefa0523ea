use std::io::Write;

use clap::{CommandFactory, Parser};

/// Parses the arguments, after handling the two hidden flags `cargo xtask dist` uses to
/// ship a binary's shell completions and man page, which the binary itself generates
/// from its clap definition (so they never drift from `--help`):
///
/// - `--generate-completions bash|zsh|fish|elvish|powershell` prints the script;
/// - `--generate-man` prints the man page (roff).
///
/// Either exits at once (0, or 2 for an unknown shell).
pub fn parse<A: Parser + CommandFactory>() -> A {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--generate-completions") => {
            let mut cmd = A::command();
            let name = cmd.get_name().to_owned();
            let Some(shell) = args
                .get(1)
                .and_then(|s| s.parse::<clap_complete::Shell>().ok())
            else {
                eprintln!(
                    "{name}: --generate-completions takes bash, zsh, fish, elvish or powershell"
                );
                std::process::exit(2);
            };
            clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
            std::process::exit(0);
        }
        Some("--generate-man") => {
            let mut out = Vec::new();
            let written = clap_mangen::Man::new(A::command()).render(&mut out);
            let code = match written.and_then(|()| std::io::stdout().write_all(&out)) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("cannot write the man page: {e}");
                    1
                }
            };
            std::process::exit(code);
        }
        _ => A::parse(),
    }
}
