//! The `peff` command line: parse, run, report one-line errors.
//!
//! Exit statuses: 0 success (and `--help`, `--version`); 2 a command line clap rejects, or no
//! subcommand (the usage and subcommand list go to stderr); 1 any other error; `128 + signal`
//! (130 SIGINT, 143 SIGTERM, 129 SIGHUP) when a stop signal ended the run (see
//! `peff::cli::signals`).

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;
use peff::cli::errors::one_line;

/// A failed allocation ends the run with one line and status 1, not an abort (see
/// `peff::memory`).
#[global_allocator]
static ALLOCATOR: peff::memory::ExitOnOom = peff::memory::ExitOnOom;

fn main() -> ExitCode {
    let cli = match peff::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Bare `peff` or `peff plot`: the usage and the subcommands to choose from.
            let _ = err.print();
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!("{}", peff::cli::errors::clap_one_line(&err));
            return ExitCode::from(2);
        }
    };
    match peff::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {}", one_line(&format!("{err:#}")));
            match peff::cli::signals::exit_status() {
                Some(status) => ExitCode::from(status),
                None => ExitCode::FAILURE,
            }
        }
    }
}
