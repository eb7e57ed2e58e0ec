//! The `peff` command line: parse, run, report one-line errors.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match peff::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let text = err.render().to_string();
            eprintln!(
                "{}",
                one_line(text.lines().next().unwrap_or("invalid arguments"))
            );
            return ExitCode::from(2);
        }
    };
    match peff::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {}", one_line(&format!("{err:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Escapes line breaks and other control characters so an error is always one line, whatever
/// text (e.g. a JSON key from a malformed file) it quotes.
fn one_line(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
