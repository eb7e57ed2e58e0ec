//! The `peff` binary as a whole: clap's consistency checks, `--help` (examples in every
//! subcommand, only accepted flags listed), usage for bare commands and missing arguments,
//! `peff bench`'s refusals, and a build script that does not make the next cargo command
//! rebuild. Each command's own behaviour is tested in the file named after it (`exact.rs`,
//! `merge.rs`, `verify.rs`, `plot.rs`, …), what every run writes in `output_files.rs`, and bad
//! input in `bad_input.rs`.

mod common;

use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;
use common::{expect_error, peff, peff_command, run_ok};

/// clap's own consistency checks on the command definition (duplicate flags, conflicting
/// names, bad defaults); fails when a flag is added inconsistently.
#[test]
fn verify_cli() {
    peff::cli::Cli::command().debug_assert();
}

/// Every subcommand's `--help`, the `peff plot` figures' included, ends its description with
/// examples (issue 20: the plot subcommands had none). Fails for a subcommand without an
/// `Example:` or `Examples:` block of `peff …` lines.
#[test]
fn every_subcommand_help_has_examples() {
    let mut cli = peff::cli::Cli::command();
    cli.build();
    let mut missing = Vec::new();
    let mut stack: Vec<(String, clap::Command)> = cli
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| (c.get_name().to_string(), c.clone()))
        .collect();
    while let Some((name, mut command)) = stack.pop() {
        stack.extend(
            command
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .map(|c| (format!("{name} {}", c.get_name()), c.clone())),
        );
        let help = command.render_long_help().to_string();
        let examples = help
            .split_once("Example")
            .map(|(_, rest)| rest.lines().skip(1).take_while(|l| !l.trim().is_empty()))
            .map(|mut lines| {
                lines.all(|l| {
                    l.trim_start().starts_with(&format!("peff {name}"))
                        || l.trim_start().starts_with("printf")
                })
            })
            .unwrap_or(false);
        if !examples {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "no examples in --help: {missing:?}");
}

/// Issue 28: `peff sample --help` and `peff converge --help` list no shared flag they refuse;
/// `peff memorize --help` states the cifar10 defaults.
#[test]
fn help_lists_only_accepted_flags_and_cifar10_defaults() {
    let help = |command: &str| run_ok(&[command, "--help"]);
    let sample = help("sample");
    for flag in ["--max-datasets", "--inits"] {
        assert!(!sample.contains(flag), "sample: {flag}");
    }
    assert!(sample.contains("--checkpoint") && sample.contains("--shard"));
    let converge = help("converge");
    for flag in ["--shard", "--checkpoint", "--inits", "--dump-init"] {
        assert!(!converge.contains(flag), "converge: {flag}");
    }
    assert!(converge.contains("--max-datasets"));
    let exact = help("exact");
    for flag in [
        "--shard",
        "--checkpoint",
        "--inits",
        "--dump-init",
        "--max-datasets",
    ] {
        assert!(exact.contains(flag), "exact: {flag}");
    }
    let memorize = help("memorize").replace("\n", " ");
    for default in [
        "10 fashion-mnist and cifar10",
        "adam for fashion-mnist and cifar10",
        "1e-3 fashion-mnist and cifar10",
        "64 fashion-mnist and cifar10",
        "1000 fashion-mnist and cifar10",
        "converged fashion-mnist and cifar10",
    ] {
        let squeezed = memorize.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            squeezed.contains(default),
            "memorize --help lacks {default:?}"
        );
    }
}

/// `bound` and `merge` without arguments did not name the missing flags; bare `peff` and
/// `peff plot` printed one line without the subcommands.
#[test]
fn missing_arguments_are_named_and_bare_commands_print_usage() {
    let line = expect_error(&["bound"], &["--n", "--epsilon", "--mi", "--k"]);
    assert!(line.contains("required"), "{line}");
    expect_error(&["merge"], &["FILES"]);
    for args in [&[][..], &["plot"]] {
        let output = peff(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr.contains("Usage:") && stderr.contains("Commands:"),
            "{stderr}"
        );
    }
    let output = peff_command().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    for command in [
        "exact", "sample", "entropy", "converge", "plot", "merge", "verify", "bound", "bench",
    ] {
        assert!(stderr.contains(command), "{command}: {stderr}");
    }
}

/// `bench --threads 1000` ran for minutes; more threads than logical CPUs are refused.
#[test]
fn bench_threads_beyond_the_cpus_are_refused() {
    expect_error(&["bench", "--threads", "1000"], &["--threads", "got 1000"]);
    expect_error(&["bench", "--flops-per-cycle", "0"], &["--flops-per-cycle"]);
}

/// `peff bench --threads -1` is a one-line error naming the flag, not clap's "unexpected
/// argument" (issue 20).
#[test]
fn bench_negative_threads_is_a_one_line_error_naming_the_flag() {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(["bench", "--threads", "-1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.lines().count() == 1, "{err}");
    assert!(err.contains("`--threads`") && err.contains("-1"), "{err}");
}

/// `cargo build --release` then `cargo run --release` compiled peff twice: `build.rs` watched
/// `.git/index`, which its own `git describe --dirty` rewrites. The script must not watch the
/// index and must run git without optional locks (no index refresh is written); running the
/// same git command here must leave `.git/index` untouched.
#[test]
fn build_script_does_not_make_the_next_cargo_command_rebuild() {
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/build.rs")).unwrap();
    let watched: Vec<&str> = script
        .lines()
        .filter(|l| l.contains("rerun-if-changed"))
        .collect();
    assert!(!watched.iter().any(|l| l.contains("index")), "{watched:?}");
    assert!(script.contains("\"GIT_OPTIONAL_LOCKS\", \"0\""));
    let index = std::process::Command::new("git")
        .args(["rev-parse", "--git-path", "index"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    let Ok(index) = index.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()) else {
        return; // not a checkout: nothing to refresh
    };
    let index = Path::new(env!("CARGO_MANIFEST_DIR")).join(index);
    // A `git commit` in the same checkout while the tests run rewrites the index too; a
    // build script that rewrote it would do so on every try, so three tries tell them apart.
    let mut rewritten = Vec::new();
    for _ in 0..3 {
        let Ok(before) = std::fs::metadata(&index).and_then(|m| m.modified()) else {
            return;
        };
        std::thread::sleep(Duration::from_millis(20));
        let status = std::process::Command::new("git")
            .args(["describe", "--always", "--dirty", "--abbrev=12"])
            .env("GIT_OPTIONAL_LOCKS", "0")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(status.status.success());
        let after = std::fs::metadata(&index).unwrap().modified().unwrap();
        if before == after {
            return;
        }
        rewritten.push((before, after));
    }
    panic!(".git/index was rewritten on every try: {rewritten:?}");
}
