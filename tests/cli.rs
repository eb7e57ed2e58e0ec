//! End-to-end tests of the `peff` binary (SPEC §6, §8, §9; STYLE 11): bad input fails with one
//! line naming the flag, result files have the documented columns, runs are deterministic
//! across thread counts, shards merge into the unsharded table, an interrupted run resumes
//! from its checkpoint, and diverging training is counted rather than fatal.
//!
//! Every run writes into a fresh `TempDir` (`--out`) and uses a tiny configuration (d = 2 or 3,
//! n ≤ 6, ≤ 1000 steps), so the whole file takes seconds in release mode.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use clap::CommandFactory;
use serde_json::Value;
use tempfile::TempDir;

/// The `peff exact` columns (SPEC §8).
const EXACT_HEADER: &str = "task,method,k,sparsity,entropy_bits,mi_bits,ceiling_bits,p_eff,distinct_masks,diverged,tie_mass";
/// The columns `peff sample` adds (SPEC §8).
const SAMPLE_COLUMNS: &str = "samples,estimator,estimate_bits,ci_low_bits,ci_high_bits";

fn peff() -> Command {
    Command::new(env!("CARGO_BIN_EXE_peff"))
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs `peff args…`, asserts success and returns stdout.
fn run_ok(args: &[&str]) -> String {
    let output = peff().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "peff {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `peff args…` and checks the bad-input contract: a non-zero exit status (not a signal),
/// no panic, exactly one line on stderr, containing every phrase. Returns the line, or why the
/// contract was broken.
fn check_error(args: &[String], phrases: &[&str]) -> Result<String, String> {
    let output = peff().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let context = format!("peff {}: stderr {stderr:?}", args.join(" "));
    match output.status.code() {
        None => return Err(format!("{context}: killed by a signal")),
        Some(0) => return Err(format!("{context}: exit status 0")),
        Some(_) => {}
    }
    if stderr.contains("panicked") {
        return Err(format!("{context}: panicked"));
    }
    if stderr.lines().count() != 1 {
        return Err(format!("{context}: not exactly one line"));
    }
    if let Some(missing) = phrases.iter().find(|p| !stderr.contains(*p)) {
        return Err(format!("{context}: does not mention {missing:?}"));
    }
    Ok(stderr.trim_end().to_string())
}

/// [`check_error`] that panics on a broken contract.
fn expect_error(args: &[&str], phrases: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    check_error(&args, phrases).unwrap_or_else(|e| panic!("{e}"))
}

/// `peff <command>` with a small valid configuration in which each `(flag, value)` of
/// `overrides` replaces the default; values are attached as `--flag=value`, or passed as a
/// separate argument when `separate` is set.
fn toy_args(command: &str, out: &Path, overrides: &[(&str, &str)], separate: bool) -> Vec<String> {
    let base = [
        ("--n", "2"),
        ("--steps", "50"),
        ("--methods", "magnitude,snip"),
    ];
    let mut args = vec![command.to_string(), "--out".into(), path_str(out).into()];
    for (flag, value) in base {
        if !overrides.iter().any(|(f, _)| *f == flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    for (flag, value) in overrides {
        if separate {
            args.extend([flag.to_string(), value.to_string()]);
        } else {
            args.push(format!("{flag}={value}"));
        }
    }
    args
}

/// A bad-input case: `(flag, value)` overrides of the valid configuration, and the phrases
/// the error must contain besides the flags.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

/// Checks every case `(overrides, phrases)` of `peff <command>` and panics with the list of
/// broken ones; each case's phrases are its flag plus the given ones.
fn check_cases(command: &str, cases: &[Case], separate: bool) {
    let tmp = TempDir::new().unwrap();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(overrides, phrases)| {
            let args = toy_args(command, tmp.path(), overrides, separate);
            let mut wanted: Vec<&str> = overrides.iter().map(|(flag, _)| *flag).collect();
            wanted.extend(phrases.iter());
            check_error(&args, &wanted).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Parses CSV text into its header line and records, failing on ragged rows.
fn parse_csv(text: &str) -> (String, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    let records = reader.records().collect::<Result<Vec<_>, _>>().unwrap();
    (header, records)
}

/// The value of `column` in `record` (a table with header `header`).
fn cell<'a>(header: &str, record: &'a csv::StringRecord, column: &str) -> &'a str {
    let index = header.split(',').position(|c| c == column).unwrap();
    &record[index]
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

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

/// Every invalid value of every `exact`/`sample` flag exits non-zero with one stderr line that
/// names the flag and the rule it broke, and no panic. Fails if a value slips through
/// validation (the tiny run would then succeed), if an error grows a second line, or if a
/// message loses its flag.
#[test]
fn invalid_flag_values_fail_with_one_line_naming_the_flag() {
    let exact: &[Case] = &[
        (&[("--k", "0")], &["must be in [1, 20]", "got 0"]),
        (&[("--k", "22")], &["must be in [1, 20] (p = 21", "got 22"]),
        (&[("--k", "x")], &["not an integer: 'x'"]),
        (&[("--k", ",")], &["needs at least one value"]),
        (
            &[("--sparsity", "1")],
            &["must be in [0.0239, 0.9761]", "got 1"],
        ),
        (
            &[("--sparsity", "-0.1")],
            &["must be in [0.0239, 0.9761]", "got -0.1"],
        ),
        (
            &[("--sparsity", "0.99")],
            &["must be in [0.0239, 0.9761] (p = 21", "got 0.99"],
        ),
        (&[("--sparsity", "half")], &["not a number: 'half'"]),
        (&[("--methods", "foo")], &["unknown method 'foo'", "valid:"]),
        (&[("--methods", "magnitude,foo")], &["unknown method 'foo'"]),
        (&[("--n", "0")], &["must be in [1, 30]", "got 0"]),
        (&[("--n", "-3")], &["must be in [1, 30]", "got -3"]),
        (&[("--n", "31")], &["must be in [1, 30]", "got 31"]),
        (&[("--n", "x")], &["invalid value 'x'"]),
        (&[("--hidden", "0")], &["must be in [1, 64]", "got 0"]),
        (&[("--hidden", "20")], &["p = 101", "p ≤ 64"]),
        (&[("--input-dim", "0")], &["must be in [1, 16]", "got 0"]),
        (&[("--input-dim", "17")], &["must be in [1, 16]", "got 17"]),
        (&[("--lr", "0")], &["must be a finite number > 0", "got 0"]),
        (
            &[("--lr", "-1")],
            &["must be a finite number > 0", "got -1"],
        ),
        (
            &[("--lr", "nan")],
            &["must be a finite number > 0", "got NaN"],
        ),
        (
            &[("--lr", "inf")],
            &["must be a finite number > 0", "got inf"],
        ),
        (&[("--steps", "0")], &["must be in [1, 10000000]", "got 0"]),
        (&[("--imp-rate", "0")], &["must be in (0, 1)", "got 0"]),
        (&[("--imp-rate", "1")], &["must be in (0, 1)", "got 1"]),
        (&[("--imp-rate", "nan")], &["must be in (0, 1)", "got NaN"]),
        (
            &[("--grasp-temperature", "0")],
            &["finite number > 0", "got 0"],
        ),
        (
            &[("--grasp-temperature", "inf")],
            &["finite number > 0", "got inf"],
        ),
        (
            &[("--synflow-rounds", "0")],
            &["must be in [1, 100000]", "got 0"],
        ),
        (&[("--threads", "-1")], &["must be in [0, 1024]", "got -1"]),
        (
            &[("--threads", "1025")],
            &["must be in [0, 1024]", "got 1025"],
        ),
        (&[("--inits", "0")], &["must be in [1, 10000]", "got 0"]),
        (&[("--shard", "3/3")], &["i/N with 0 ≤ i < N", "got '3/3'"]),
        (&[("--shard", "x")], &["i/N with 0 ≤ i < N", "got 'x'"]),
        (&[("--shard", "0/0")], &["i/N with 0 ≤ i < N", "got '0/0'"]),
        (
            &[("--checkpoint-interval", "-1")],
            &["finite number ≥ 0", "got -1"],
        ),
        (
            &[("--checkpoint-interval", "nan")],
            &["finite number ≥ 0", "got NaN"],
        ),
        (&[("--task", "vision")], &["invalid value 'vision'"]),
        (&[("--format", "xml")], &["invalid value 'xml'"]),
        (
            &[("--inits", "2"), ("--shard", "0/2")],
            &["whole exact enumerations only"],
        ),
        (
            &[("--k", "3"), ("--sparsity", "0.5")],
            &["cannot be used with"],
        ),
    ];
    check_cases("exact", exact, false);
    let sample: &[Case] = &[
        (
            &[("--samples", "0")],
            &["must be in [1, 1000000000]", "got 0"],
        ),
        (
            &[("--samples", "-5")],
            &["must be in [1, 1000000000]", "got -5"],
        ),
        (&[("--lr", "0")], &["must be a finite number > 0", "got 0"]),
        (&[("--k", "0")], &["must be in [1, 20]", "got 0"]),
        (
            &[("--inits", "2")],
            &["`--inits` is not used by `peff sample`"],
        ),
    ];
    check_cases("sample", sample, false);
}

/// Negative values written as a separate argument (`--n -3`, the way people type them) are
/// reported like `--n=-3`: naming the flag and the valid range. Fails today: clap takes `-3`
/// for an unknown flag and prints "unexpected argument '-3' found", which names no flag.
#[test]
fn negative_values_after_a_space_name_the_flag() {
    let cases: &[Case] = &[
        (&[("--n", "-3")], &["must be in [1, 30]"]),
        (&[("--lr", "-1")], &["finite number > 0"]),
        (&[("--threads", "-1")], &["must be in [0, 1024]"]),
        (&[("--checkpoint-interval", "-1")], &["finite number ≥ 0"]),
        (&[("--sparsity", "-0.1")], &["must be in [0.0239, 0.9761]"]),
    ];
    check_cases("exact", cases, true);
}

/// `--init` files that cannot be used (missing, not JSON, unknown keys, wrong layer count,
/// shapes of another architecture or task) fail with one line naming `--init`, the file and
/// the mismatch. Fails if a wrong-shaped init were silently truncated or padded.
#[test]
fn unusable_init_files_fail_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let out = path_str(dir);
    let regression = dir.join("regression-init.json");
    run_ok(&[
        "exact",
        "--n",
        "2",
        "--steps",
        "50",
        "--methods",
        "synflow",
        "--out",
        out,
        "--dump-init",
        path_str(&regression),
    ]);
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let missing = dir.join("missing.json");
    let malformed = write("malformed.json", "{\"layers\": [");
    let unknown = write("unknown.json", "{\"layers\": [], \"extra\": 1}");
    let empty = write("empty.json", "{\"layers\": []}");
    let huge = write(
        "huge.json",
        "{\"layers\": [{\"weight\": [[1e999]], \"bias\": [0]}]}",
    );
    let base = ["exact", "--n", "2", "--steps", "50", "--out", out];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--init", path_str(&missing)],
            vec!["`--init`: cannot read", "missing.json"],
        ),
        (
            vec!["--init", &malformed],
            vec!["`--init`", "malformed.json", "malformed init file"],
        ),
        (
            vec!["--init", &unknown],
            vec!["malformed init file", "unknown field `extra`"],
        ),
        (
            vec!["--init", &empty],
            vec!["init file has 0 layers, the model has 2"],
        ),
        (
            vec!["--init", &huge],
            vec!["`--init`", "malformed init file"],
        ),
        (
            vec!["--init", path_str(&regression), "--input-dim", "2"],
            vec!["layer 0: weight has shape 4x3, the model needs 4x2"],
        ),
        (
            vec!["--init", path_str(&regression), "--hidden", "5"],
            vec!["layer 0: weight has shape 4x3, the model needs 5x3"],
        ),
        (
            vec!["--init", path_str(&regression), "--task", "classification"],
            vec![
                "`--init`",
                "regression-init.json",
                "layer 0: weight has shape 4x3, the model needs 3x3",
            ],
        ),
        (
            vec!["--init", path_str(&regression), "--inits", "2"],
            vec!["cannot be used with"],
        ),
    ];
    for (extra, phrases) in cases {
        let args: Vec<&str> = base.iter().chain(&extra).copied().collect();
        expect_error(&args, &phrases);
    }
}

/// The error for an init file that is not JSON states serde's reason once. Fails today: the
/// `Malformed` variant both prints its source (`{0}`) and exposes it as `source()`, so `{:#}`
/// prints "malformed init file: EOF while parsing … : EOF while parsing …".
#[test]
fn malformed_init_error_states_its_cause_once() {
    let tmp = TempDir::new().unwrap();
    let malformed = tmp.path().join("malformed.json");
    std::fs::write(&malformed, "{\"layers\": [").unwrap();
    let line = expect_error(
        &[
            "exact",
            "--out",
            path_str(tmp.path()),
            "--init",
            path_str(&malformed),
        ],
        &["malformed init file"],
    );
    assert_eq!(line.matches("EOF while parsing").count(), 1, "{line}");
}

/// An enumeration larger than `--max-datasets` is refused before any work, with the dataset
/// count and the two ways out (`peff sample`, or `--shard i/N` with the smallest N). Here
/// d = 3, n = 2: C(17, 2) = 136 multisets, ⌈136/10⌉ = 14 shards. Fails if the count or the
/// shard suggestion were computed wrongly, or if the limit were not applied per shard.
#[test]
fn too_many_datasets_suggests_sample_and_a_shard_count() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let base = ["exact", "--n", "2", "--steps", "50", "--out", out];
    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--max-datasets", "10"])
        .collect();
    expect_error(
        &args,
        &[
            "136 datasets",
            "`--max-datasets` 10",
            "`peff sample`",
            "`--shard i/N`",
            "N ≥ 14",
        ],
    );
    // One shard of 14 holds at most 10 datasets: allowed.
    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--max-datasets", "10", "--shard", "3/14"])
        .collect();
    run_ok(&args);
    // 20 multisets with d = 1, n = 3 fit under the limit; `peff sample` does not enumerate and
    // refuses the flag rather than ignoring it.
    run_ok(&[
        "exact",
        "--n",
        "3",
        "--input-dim",
        "1",
        "--steps",
        "50",
        "--out",
        out,
        "--max-datasets",
        "20",
    ]);
    let args: Vec<&str> = ["sample", "--samples", "50", "--k", "3"]
        .iter()
        .copied()
        .chain(base[1..].iter().copied())
        .chain(["--max-datasets", "10"])
        .collect();
    expect_error(&args, &["`--max-datasets` is not used by `peff sample`"]);
}

/// `peff merge` refuses incomplete or inconsistent sets of shards with one line saying which
/// shard is wrong: a missing shard, a shard given twice, a shard of another configuration, a
/// different shard count, an edited (checksum-mismatching) or truncated file, a missing file.
/// Fails if any of these merged into a table.
#[test]
fn merge_rejects_bad_sets_of_shards() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let shard = |i: &str, steps: &str, sub: &str| -> String {
        let out = dir.join(sub);
        let stdout = run_ok(&[
            "exact",
            "--n",
            "2",
            "--input-dim",
            "2",
            "--steps",
            steps,
            "--methods",
            "magnitude,snip",
            "--out",
            path_str(&out),
            "--shard",
            i,
        ]);
        stdout.lines().last().unwrap().to_string()
    };
    let s0 = shard("0/3", "50", "a");
    let s1 = shard("1/3", "50", "a");
    let s2 = shard("2/3", "50", "a");
    let other = shard("1/3", "51", "b");
    let halves = shard("1/2", "50", "c");
    let text = read(Path::new(&s2));
    let weight = text.find("\"total_weight\":\"").unwrap() + "\"total_weight\":\"".len();
    let mut edited = text.clone();
    edited.insert(weight, '1');
    let edited_path = dir.join("edited.json");
    std::fs::write(&edited_path, edited).unwrap();
    let truncated_path = dir.join("truncated.json");
    std::fs::write(&truncated_path, &text[..text.len() / 2]).unwrap();
    let missing = dir.join("nope.json");
    let out = dir.join("merged");
    let merge = |files: &[&str], phrases: &[&str]| {
        let mut args = vec!["merge", "--out", path_str(&out)];
        args.extend(files);
        expect_error(&args, phrases);
    };
    merge(&[&s0, &s1], &["missing shards: 2/3"]);
    merge(&[&s0, &s1, &s1, &s2], &["shard 1/3 is given twice"]);
    merge(
        &[&s0, &other, &s2],
        &["shard 1/3 belongs to a different configuration than shard 0/3"],
    );
    merge(&[&s0, &halves, &s2], &["shard counts differ"]);
    merge(
        &[&s0, &s1, path_str(&edited_path)],
        &["edited.json", "checksum mismatch"],
    );
    merge(
        &[&s0, &s1, path_str(&truncated_path)],
        &["truncated.json", "not a peff partial-result file"],
    );
    merge(&[&s0, &s1, path_str(&missing)], &["nope.json"]);
    // The complete set merges: the failures above are about the files, not the setup.
    run_ok(&["merge", "--out", path_str(&out), &s2, &s0, &s1]);
    assert!(out.join("exact-regression.csv").is_file());
}

/// Shard counts beyond 10^6 are refused up front with a one-line error naming `--shard` (merge
/// once allocated a flag per shard and panicked with "capacity overflow" for N = 2^64 − 1).
#[test]
fn merge_of_a_huge_shard_count_fails_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for shard in ["5/18446744073709551615", "0/1000001"] {
        expect_error(
            &[
                "exact",
                "--n",
                "2",
                "--input-dim",
                "2",
                "--steps",
                "50",
                "--out",
                out,
                "--shard",
                shard,
            ],
            &["`--shard`", "1000000"],
        );
    }
}

/// `peff verify` refuses files that are not JSON results (text, an init file, a missing file)
/// with one line; fails if it accepted them or crashed.
#[test]
fn verify_rejects_files_that_are_not_results() {
    let tmp = TempDir::new().unwrap();
    let text = tmp.path().join("notes.txt");
    std::fs::write(&text, "not json at all\n").unwrap();
    let init = tmp.path().join("init.json");
    std::fs::write(&init, "{\"layers\": []}").unwrap();
    let missing = tmp.path().join("missing.json");
    for file in [&text, &init] {
        expect_error(&["verify", path_str(file)], &["is not a peff JSON result"]);
    }
    expect_error(
        &["verify", path_str(&missing)],
        &["cannot read", "missing.json"],
    );
}

/// `peff verify` on a result whose recorded configuration was damaged (the init of an
/// `--init` run cut short by three values) fails with one line. Fails today: the recorded
/// experiment is not validated, and training indexes past the end of the init
/// ("index out of bounds: the len is 14 but the index is 16" in model/lanes.rs).
#[test]
fn verify_rejects_a_damaged_configuration() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let init = tmp.path().join("init.json");
    let tiny = [
        "exact",
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "50",
        "--methods",
        "magnitude",
        "--out",
        out,
    ];
    let dump: Vec<&str> = tiny
        .iter()
        .copied()
        .chain(["--dump-init", path_str(&init)])
        .collect();
    run_ok(&dump);
    let from_file: Vec<&str> = tiny
        .iter()
        .copied()
        .chain(["--init", path_str(&init), "--force"])
        .collect();
    run_ok(&from_file);
    let result = tmp.path().join("exact-regression.json");
    let mut json: Value = serde_json::from_str(&read(&result)).unwrap();
    let recorded = json["run"]["config"]["experiment"]["init"]
        .as_array_mut()
        .unwrap();
    recorded.truncate(recorded.len() - 3);
    let damaged = tmp.path().join("damaged.json");
    std::fs::write(&damaged, serde_json::to_string(&json).unwrap()).unwrap();
    expect_error(&["verify", path_str(&damaged)], &["damaged.json"]);
}

/// `peff bound` refuses ε or δ outside (0, 1) and non-positive constants with one line naming
/// the flag; a valid call prints the bound as JSON. Fails if a boundary value (0 or 1) slipped
/// through.
#[test]
fn bound_rejects_out_of_range_inputs() {
    let args = |epsilon: &str, delta: &str, n: &str| -> Vec<String> {
        [
            "bound",
            &format!("--n={n}"),
            "--d=50",
            &format!("--epsilon={epsilon}"),
            &format!("--delta={delta}"),
            "--w=10",
            "--j=1",
            "--mi=20",
            "--k=100",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let cases = [
        (
            args("0", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got 0",
        ),
        (
            args("1", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got 1",
        ),
        (
            args("1.5", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got 1.5",
        ),
        (
            args("nan", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got NaN",
        ),
        (
            args("0.1", "0", "1000"),
            "`--delta` must be in (0, 1), got 0",
        ),
        (
            args("0.1", "1", "1000"),
            "`--delta` must be in (0, 1), got 1",
        ),
        (
            args("0.1", "-0.5", "1000"),
            "`--delta` must be in (0, 1), got -0.5",
        ),
        (
            args("0.1", "0.05", "0"),
            "`--n` must be a finite number > 0, got 0",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(a, phrase)| check_error(a, &[phrase]).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let ok = args("0.1", "0.05", "1000");
    let ok: Vec<&str> = ok.iter().map(String::as_str).collect();
    let bound: Value = serde_json::from_str(&run_ok(&ok)).unwrap();
    assert!(bound["lipschitz_lower_bound"].as_f64().unwrap() > 0.0);
}

/// A `--checkpoint` file that is not a partial result, or that belongs to another
/// configuration, is refused with one line (never silently overwritten or resumed); `--out`
/// that is a regular file is refused before any work.
#[test]
fn unusable_checkpoint_and_out_fail_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let checkpoint = tmp.path().join("run.ckpt");
    let tiny = |steps: &'static str| {
        vec![
            "exact",
            "--n",
            "2",
            "--input-dim",
            "2",
            "--steps",
            steps,
            "--methods",
            "magnitude",
            "--out",
            out,
            "--checkpoint",
            path_str(&checkpoint),
            "--force",
        ]
    };
    std::fs::write(&checkpoint, "garbage").unwrap();
    expect_error(
        &tiny("50"),
        &["`--checkpoint`", "not a peff partial-result file"],
    );
    assert_eq!(read(&checkpoint), "garbage");
    std::fs::remove_file(&checkpoint).unwrap();
    run_ok(&tiny("50"));
    let saved = read(&checkpoint);
    expect_error(
        &tiny("60"),
        &["`--checkpoint`", "belongs to a different configuration"],
    );
    assert_eq!(read(&checkpoint), saved);
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    expect_error(
        &[
            "exact",
            "--n",
            "2",
            "--steps",
            "50",
            "--out",
            path_str(&file),
        ],
        &["`--out`", "is a file, not a directory"],
    );
}

/// An exact run writes `<stem>.csv` with exactly the SPEC §8 header and `<stem>.json` with the
/// metadata keys and the same rows; `--format csv` prints the CSV file, `--format json` the
/// JSON rows, and the table shows the same columns. Fails if a column is renamed, reordered or
/// missing, if the files and stdout disagree, or if a JSON number differs from its CSV cell.
#[test]
fn exact_run_writes_the_documented_csv_and_json() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let args = |format: &'static str| {
        vec![
            "exact",
            "--n",
            "2",
            "--input-dim",
            "2",
            "--steps",
            "50",
            "--k",
            "3,8",
            "--out",
            out,
            "--name",
            "e2e",
            "--format",
            format,
        ]
    };
    let csv_stdout = run_ok(&args("csv"));
    let csv_file = read(&tmp.path().join("e2e.csv"));
    assert_eq!(csv_stdout, csv_file);
    let (header, records) = parse_csv(&csv_file);
    assert_eq!(header, EXACT_HEADER);
    assert_eq!(csv_file.lines().next().unwrap(), EXACT_HEADER);
    // random, synflow, magnitude, snip, grasp at k = 8, 3; imp at its schedule 13, 10, 8, 6, 4, 3.
    assert_eq!(records.len(), 5 * 2 + 6, "{csv_file}");

    let json: Value = serde_json::from_str(&read(&tmp.path().join("e2e.json"))).unwrap();
    for key in [
        "peff_version",
        "run",
        "threads",
        "wall_seconds",
        "pmf_sha256",
        "rows",
    ] {
        assert!(json.get(key).is_some(), "JSON result lacks {key}: {json}");
    }
    assert_eq!(json["peff_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["pmf_sha256"].as_str().unwrap().len(), 64);
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), records.len());
    let columns: Vec<&str> = EXACT_HEADER.split(',').collect();
    for (row, record) in rows.iter().zip(&records) {
        let object = row.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = columns.clone();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        for column in &columns {
            let text = cell(&header, record, column);
            match &row[*column] {
                Value::String(s) => assert_eq!(s, text),
                Value::Number(n) => assert_eq!(
                    n.as_f64().unwrap().to_bits(),
                    text.parse::<f64>().unwrap().to_bits(),
                    "{column}: JSON {n} vs CSV {text}"
                ),
                other => panic!("{column}: unexpected JSON value {other}"),
            }
        }
    }

    let json_stdout: Value = serde_json::from_str(&run_ok(&args("json"))).unwrap();
    assert_eq!(&json_stdout, &json["rows"]);

    let table = run_ok(&args("table"));
    let table_header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(table_header, columns);
    assert_eq!(table.lines().count(), records.len() + 1);
}

/// A sampled run's CSV has the exact columns followed by the SPEC §8 sample columns, one row
/// per (method, k, estimator), and the JSON result file records the sample count and seed.
/// Fails if a sample column is missing, renamed or moved, or an estimator is dropped.
#[test]
fn sample_run_writes_the_documented_columns() {
    let tmp = TempDir::new().unwrap();
    let stdout = run_ok(&[
        "sample",
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "50",
        "--methods",
        "magnitude,snip",
        "--k",
        "3",
        "--samples",
        "100",
        "--seed",
        "4",
        "--out",
        path_str(tmp.path()),
        "--format",
        "csv",
    ]);
    assert_eq!(stdout, read(&tmp.path().join("sample-regression.csv")));
    let (header, records) = parse_csv(&stdout);
    assert_eq!(header, format!("{EXACT_HEADER},{SAMPLE_COLUMNS}"));
    let estimators: Vec<&str> = records
        .iter()
        .filter(|r| cell(&header, r, "method") == "magnitude")
        .map(|r| cell(&header, r, "estimator"))
        .collect();
    for name in ["plugin", "miller_madow", "chao_shen", "grassberger", "nsb"] {
        assert!(estimators.contains(&name), "{name} missing: {estimators:?}");
    }
    assert_eq!(records.len(), 2 * estimators.len());
    for record in &records {
        assert_eq!(cell(&header, record, "samples"), "100");
        let low: f64 = cell(&header, record, "ci_low_bits").parse().unwrap();
        let high: f64 = cell(&header, record, "ci_high_bits").parse().unwrap();
        assert!(low <= high, "{record:?}");
    }
    let json: Value =
        serde_json::from_str(&read(&tmp.path().join("sample-regression.json"))).unwrap();
    assert_eq!(json["run"]["config"]["samples"], 100);
    assert_eq!(json["run"]["config"]["sample_seed"], 4);
    assert_eq!(json["rows"].as_array().unwrap().len(), records.len());
}

/// `--dump-init FILE` writes the init a run used, and `--init FILE` reproduces that run's CSV
/// byte for byte; a different seed gives a different table, so the comparison would catch an
/// `--init` that is ignored or a dump that loses precision.
#[test]
fn dump_init_then_init_reproduces_the_table() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let init = tmp.path().join("dumped").join("init.json");
    let tiny = [
        "exact",
        "--n",
        "3",
        "--input-dim",
        "2",
        "--steps",
        "100",
        "--format",
        "csv",
        "--out",
        out,
        "--force",
    ];
    let with = |extra: &[&str]| {
        let args: Vec<&str> = tiny.iter().chain(extra).copied().collect();
        run_ok(&args)
    };
    let seeded = with(&["--init-seed", "5", "--dump-init", path_str(&init)]);
    let file: Value = serde_json::from_str(&read(&init)).unwrap();
    assert_eq!(file["layers"].as_array().unwrap().len(), 2);
    assert_eq!(with(&["--init", path_str(&init)]), seeded);
    assert_ne!(with(&["--init-seed", "6"]), seeded);
}

/// Tallies are integer sums, so the CSV of an exact run (816 multisets, several parallel
/// chunks) and of a sampled run is byte-identical with 1 and 2 worker threads. Fails on any
/// order-dependent floating-point sum or per-thread random stream.
#[test]
fn tables_do_not_depend_on_the_thread_count() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let exact = |threads: &str| {
        run_ok(&[
            "exact",
            "--n",
            "3",
            "--steps",
            "100",
            "--k",
            "3,10,17",
            "--threads",
            threads,
            "--format",
            "csv",
            "--out",
            out,
        ])
    };
    let one = exact("1");
    // Five methods at 3 k, and IMP's schedule 16, 12, 9, 7, 5, 4, 3.
    assert_eq!(one.lines().count(), 1 + 5 * 3 + 7, "{one}");
    assert_eq!(one, exact("2"));
    let sample = |threads: &str| {
        run_ok(&[
            "sample",
            "--n",
            "3",
            "--input-dim",
            "2",
            "--steps",
            "100",
            "--methods",
            "random,magnitude,snip",
            "--k",
            "3,8",
            "--samples",
            "1000",
            "--threads",
            threads,
            "--format",
            "csv",
            "--out",
            out,
        ])
    };
    assert_eq!(sample("1"), sample("2"));
}

/// Runs `args` as 7 shards and merges them; returns (unsharded CSV, merged CSV, unsharded JSON
/// path, merged JSON path). Each shard must print its partial file's path as its last line.
fn shard_and_merge(tmp: &Path, args: &[&str]) -> (String, String, PathBuf, PathBuf) {
    let whole_out = tmp.join("whole");
    let mut whole = args.to_vec();
    whole.extend(["--out", path_str(&whole_out), "--format", "csv"]);
    let unsharded = run_ok(&whole);
    let shard_out = tmp.join("shards");
    let files: Vec<String> = (0..7)
        .map(|i| {
            let spec = format!("{i}/7");
            let mut shard = args.to_vec();
            shard.extend(["--out", path_str(&shard_out), "--shard", &spec]);
            let stdout = run_ok(&shard);
            let last = stdout.lines().last().unwrap().to_string();
            assert!(last.ends_with(&format!(".shard-{i}-of-7.json")), "{stdout}");
            assert!(Path::new(&last).is_file(), "{last}");
            last
        })
        .collect();
    let merged_out = tmp.join("merged");
    let mut merge = vec!["merge", "--format", "csv", "--out", path_str(&merged_out)];
    // Shards may be given in any order.
    merge.extend(files.iter().rev().map(String::as_str));
    let merged = run_ok(&merge);
    let json_in = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .unwrap()
    };
    (unsharded, merged, json_in(&whole_out), json_in(&merged_out))
}

fn read_csv_beside(json: &Path) -> String {
    read(&json.with_extension("csv"))
}

/// The pmf hash recorded in a JSON result.
fn pmf_hash(json: &Path) -> String {
    let value: Value = serde_json::from_str(&read(json)).unwrap();
    value["pmf_sha256"].as_str().unwrap().to_string()
}

/// An exact run split into 7 shards and merged gives the unsharded CSV byte for byte and the
/// same pmf hash; `peff verify` accepts the unsharded and the merged JSON and rejects one
/// whose pmf hash was edited. Fails if shard ranges overlap or leave gaps, or if merging
/// loses or double-counts weight.
#[test]
fn merged_exact_shards_equal_the_unsharded_run() {
    let tmp = TempDir::new().unwrap();
    let (unsharded, merged, whole_json, merged_json) = shard_and_merge(
        tmp.path(),
        &["exact", "--n", "3", "--steps", "100", "--k", "3,10,17"],
    );
    assert_eq!(merged, unsharded);
    assert_eq!(read_csv_beside(&merged_json), unsharded);
    assert_eq!(pmf_hash(&merged_json), pmf_hash(&whole_json));

    for json in [&whole_json, &merged_json] {
        let stdout = run_ok(&["verify", path_str(json), "--threads", "2"]);
        assert!(stdout.contains("verified"), "{stdout}");
    }
    let hash = pmf_hash(&whole_json);
    let flipped = format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    let tampered = tmp.path().join("tampered.json");
    std::fs::write(&tampered, read(&whole_json).replace(&hash, &flipped)).unwrap();
    expect_error(
        &["verify", path_str(&tampered)],
        &["verification failed", &flipped, &hash],
    );
}

/// A sampled run (500 datasets, random pruning included) split into 7 shards and merged gives
/// the unsharded CSV byte for byte: each dataset's and each random mask's stream is keyed by
/// its index, not by its position in a shard.
#[test]
fn merged_sample_shards_equal_the_unsharded_run() {
    let tmp = TempDir::new().unwrap();
    let (unsharded, merged, whole_json, merged_json) = shard_and_merge(
        tmp.path(),
        &[
            "sample",
            "--n",
            "3",
            "--input-dim",
            "2",
            "--steps",
            "100",
            "--methods",
            "random,magnitude,snip",
            "--k",
            "3,8",
            "--samples",
            "500",
        ],
    );
    assert_eq!(merged, unsharded);
    assert_eq!(pmf_hash(&merged_json), pmf_hash(&whole_json));
}

/// Names of leftover temporary files (`*.tmp*`) and probes under `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains(".tmp") || name.contains("probe"))
                .collect()
        })
        .unwrap_or_default()
}

/// SIGINT during `peff exact --checkpoint FILE --checkpoint-interval 0` (d = 3, n = 6: 54,264
/// multisets in 7 windows of 8,192): the run exits non-zero with one line naming the
/// checkpoint, leaves no temporary or half-written file, the checkpoint is an unfinished
/// partial result that `peff merge` refuses, and rerunning the command resumes and writes a
/// CSV byte-identical to an uninterrupted run. The signal is sent as soon as the first
/// checkpoint exists; if a run still finishes first, the attempt is repeated (at most 3), and
/// at least one attempt must have been interrupted.
#[test]
fn interrupted_run_resumes_from_its_checkpoint() {
    let args = [
        "exact",
        "--n",
        "6",
        "--steps",
        "1000",
        "--methods",
        "magnitude",
        "--k",
        "3,10",
        "--threads",
        "2",
        "--format",
        "csv",
    ];
    let tmp = TempDir::new().unwrap();
    let reference_out = tmp.path().join("reference");
    let mut reference_args = args.to_vec();
    reference_args.extend(["--out", path_str(&reference_out)]);
    let reference = run_ok(&reference_args);
    assert_eq!(read(&reference_out.join("exact-regression.csv")), reference);

    let mut interrupted = 0;
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let out = dir.join("out");
        let checkpoint = dir.join("checkpoints").join("run.ckpt");
        let mut full = args.to_vec();
        full.extend([
            "--out",
            path_str(&out),
            "--checkpoint",
            path_str(&checkpoint),
            "--checkpoint-interval",
            "0",
        ]);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_peff"))
            .args(&full)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !checkpoint.exists() && child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no checkpoint"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            let status = std::process::Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        if !output.status.success() {
            interrupted += 1;
            assert!(output.status.code().is_some(), "killed by the signal");
            // The stop is announced at once, then the run ends with one error line.
            let lines: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with("stopping after"))
                .collect();
            assert_eq!(lines.len(), 1, "{stderr}");
            assert!(
                stderr.contains("stopping after the current unit of work"),
                "{stderr}"
            );
            for phrase in ["interrupted", "checkpoint", "run.ckpt", "rerun"] {
                assert!(stderr.contains(phrase), "{phrase}: {stderr}");
            }
            assert!(output.stdout.is_empty());
            // Nothing half-written: no temporaries, and whatever exists parses completely.
            for d in [&out, &checkpoint.parent().unwrap().to_path_buf()] {
                assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
            }
            if let Ok(entries) = std::fs::read_dir(&out) {
                for path in entries.map(|e| e.unwrap().path()) {
                    let text = read(&path);
                    match path.extension().and_then(|x| x.to_str()) {
                        Some("csv") => assert_eq!(parse_csv(&text).0, EXACT_HEADER),
                        Some("json") => drop(serde_json::from_str::<Value>(&text).unwrap()),
                        _ => panic!("unexpected file {}", path.display()),
                    }
                }
            }
            let saved = peff::experiments::toy::partial::Partial::read(&checkpoint).unwrap();
            assert!(
                saved.payload.done > 0 && !saved.is_complete(),
                "done {}",
                saved.payload.done
            );
            expect_error(
                &["merge", "--out", path_str(&dir), path_str(&checkpoint)],
                &["unfinished checkpoint"],
            );
        } else {
            assert_eq!(String::from_utf8(output.stdout).unwrap(), reference);
        }
        // Rerunning the same command resumes (or reuses the finished checkpoint).
        let resumed = run_ok(&full);
        assert_eq!(resumed, reference);
        assert_eq!(read(&out.join("exact-regression.csv")), reference);
        assert!(leftovers(&out).is_empty());
        if interrupted > 0 {
            break;
        }
    }
    assert!(interrupted > 0, "no attempt was interrupted");
}

/// Rows of a CSV keyed by `(method, k)`.
fn rows_by_key(csv_text: &str) -> Vec<((String, String), csv::StringRecord)> {
    let (header, records) = parse_csv(csv_text);
    records
        .into_iter()
        .map(|r| {
            let key = (
                cell(&header, &r, "method").to_string(),
                cell(&header, &r, "k").to_string(),
            );
            (key, r)
        })
        .collect()
}

/// Training that diverges is a result, not a crash (STYLE 6): with `--lr 5` some of the 120
/// datasets diverge for magnitude and IMP, the run succeeds, their `diverged` column counts
/// them and their entropies stay finite and non-negative; with `--lr 50` every dataset
/// diverges. Methods that do not train (random, synflow, snip, grasp) give exactly the rows
/// of a run at the default learning rate. Fails if divergence aborted the run, leaked NaN into
/// an entropy, or disturbed the other methods.
#[test]
fn diverging_training_is_counted_and_other_methods_are_unaffected() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let run = |lr: &str| {
        run_ok(&[
            "exact",
            "--n",
            "3",
            "--input-dim",
            "2",
            "--steps",
            "100",
            "--k",
            "3,8",
            "--lr",
            lr,
            "--format",
            "csv",
            "--out",
            out,
            "--force",
        ])
    };
    let normal = rows_by_key(&run("0.1"));
    let header = EXACT_HEADER;
    for (lr, all) in [("5", false), ("50", true)] {
        let rows = rows_by_key(&run(lr));
        assert_eq!(rows.len(), normal.len());
        for ((key, row), (normal_key, normal_row)) in rows.iter().zip(&normal) {
            assert_eq!(key, normal_key);
            let diverged: u64 = cell(header, row, "diverged").parse().unwrap();
            let every_run_diverged = all && matches!(key.0.as_str(), "magnitude" | "imp");
            for column in ["entropy_bits", "mi_bits", "p_eff", "tie_mass"] {
                let text = cell(header, row, column);
                if every_run_diverged && column != "tie_mass" {
                    // No pmf, no entropy: the cell is empty rather than a fake 0.
                    assert_eq!(text, "", "lr {lr} {key:?} {column}");
                    continue;
                }
                let v: f64 = text.parse().unwrap();
                assert!(v.is_finite() && v >= 0.0, "lr {lr} {key:?} {column} = {v}");
            }
            let distinct: u64 = cell(header, row, "distinct_masks").parse().unwrap();
            match key.0.as_str() {
                "magnitude" | "imp" if all => {
                    assert_eq!(diverged, 120, "lr {lr} {key:?}");
                    assert_eq!(distinct, 0, "lr {lr} {key:?}");
                }
                "magnitude" | "imp" => {
                    assert!(
                        diverged > 0 && diverged < 120,
                        "lr {lr} {key:?}: {diverged}"
                    );
                    assert!(distinct > 0, "lr {lr} {key:?}");
                }
                _ => assert_eq!(row, normal_row, "lr {lr} {key:?}"),
            }
        }
    }
}

/// Rows in which every dataset diverged print entropy, MI and p_eff without a sign on zero.
/// Fails today: the entropy of an empty pmf is an empty `f64` sum, which is −0.0, so the CSV
/// says `entropy_bits = -0.0` and `mi_bits = -0.0`.
#[test]
fn all_diverged_rows_do_not_print_negative_zero() {
    let tmp = TempDir::new().unwrap();
    let csv_text = run_ok(&[
        "exact",
        "--n",
        "3",
        "--input-dim",
        "2",
        "--steps",
        "100",
        "--methods",
        "magnitude",
        "--k",
        "3",
        "--lr",
        "50",
        "--format",
        "csv",
        "--out",
        path_str(tmp.path()),
    ]);
    assert!(!csv_text.contains("-0.0"), "{csv_text}");
}

/// Issue 28: a shard file beyond `merge`'s 4 GiB limit was read up to the limit before it was
/// refused; it is now refused by its size (file metadata) before any byte is read, in one line
/// naming the limit. The file is sparse, so the test writes nothing.
#[test]
fn merge_refuses_an_oversized_shard_by_its_size() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("huge.shard-0-of-1.json");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let started = Instant::now();
    let err = expect_error(
        &["merge", path_str(&path), "--out", path_str(tmp.path())],
        &["shard file", "5368709120 bytes", "limit of 4 GiB"],
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it read the file"
    );
}

/// The flags of a small exact run with a checkpoint for the tests below (about a second).
fn checkpointed_exact(out: &Path, checkpoint: &Path) -> Vec<String> {
    [
        "exact",
        "--n",
        "6",
        "--steps",
        "1000",
        "--methods",
        "magnitude",
        "--k",
        "3,10",
        "--threads",
        "1",
        "--format",
        "csv",
        "--out",
        path_str(out),
        "--checkpoint",
        path_str(checkpoint),
    ]
    .map(String::from)
    .to_vec()
}

/// Issue 28: a resumed `peff exact` (and `peff sample`) says so on stderr, and its
/// `wall_seconds` covers the earlier parts (the time its checkpoint records).
#[test]
fn resumed_exact_run_says_so_and_counts_the_earlier_time() {
    let tmp = TempDir::new().unwrap();
    for command in ["exact", "sample"] {
        let checkpoint = tmp.path().join(format!("{command}.ckpt"));
        let mut args = checkpointed_exact(tmp.path(), &checkpoint);
        args[0] = command.to_string();
        if command == "sample" {
            args.extend(["--samples", "200"].map(String::from));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok(&args);
        common::set_checkpoint_wall_seconds(&checkpoint, 1000.0);
        let output = peff().args(&args).output().unwrap();
        assert!(output.status.success());
        let err = String::from_utf8_lossy(&output.stderr);
        let said = format!("resuming from checkpoint '{}': ", checkpoint.display());
        let line = err.lines().find(|l| l.starts_with(&said));
        let counts = line.map(|l| l[said.len()..].split(' ').collect::<Vec<_>>());
        assert!(
            counts.is_some_and(|c| c.len() == 5 && c[0] == c[2] && c[3] == "datasets"),
            "{err}"
        );
        let json = tmp.path().join(format!("{command}-regression.json"));
        let wall = common::result_wall_seconds(&json);
        assert!(wall >= 1000.0, "{command}: wall_seconds {wall}");
    }
}

/// Issue 28: a checkpoint save that fails while `peff exact` runs (its directory replaced, as
/// a full disk fails it) is warned about, and the run still writes its table, the same as an
/// uninterrupted run's: finished work is not thrown away.
#[test]
fn failed_checkpoint_save_still_writes_the_exact_table() {
    let tmp = TempDir::new().unwrap();
    let reference_dir = tmp.path().join("reference");
    let mut reference = checkpointed_exact(&reference_dir, &tmp.path().join("unused"));
    reference.truncate(reference.len() - 2);
    let reference: Vec<&str> = reference.iter().map(String::as_str).collect();
    let expected = run_ok(&reference);
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let checkpoint = dir.join("ckpt/run.ckpt");
        let mut args = checkpointed_exact(&dir.join("out"), &checkpoint);
        args.extend(["--checkpoint-interval", "0"].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let Some(output) = common::break_checkpoint_dir_once_written(&args, &checkpoint) else {
            continue;
        };
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{err}");
        assert!(err.contains("warning: saving the checkpoint"), "{err}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
        assert_eq!(read(&dir.join("out/exact-regression.csv")), expected);
        return;
    }
    panic!("every attempt finished before the checkpoint directory was replaced");
}

/// Issue 28: `peff verify` treats a key added to any result the same way: an unknown
/// top-level key, a key added to a row and a `summary` on a result that has none all fail
/// verification, naming what differs; `--data` is refused for results that read no data.
#[test]
fn verify_refuses_added_keys_and_summaries() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    run_ok(&[
        "exact",
        "--n",
        "2",
        "--steps",
        "50",
        "--methods",
        "magnitude",
        "--k",
        "5",
        "--out",
        out,
    ]);
    let json = tmp.path().join("exact-regression.json");
    let csv = tmp.path().join("exact-regression.csv");
    run_ok(&["verify", path_str(&json)]);
    let original: Value = serde_json::from_str(&read(&json)).unwrap();
    let edited = tmp.path().join("edited.json");
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 3] = [
        ("top", |v| v["note"] = "mine".into(), "key 'note'"),
        ("row", |v| v["rows"][0]["note"] = "mine".into(), "`note`"),
        (
            "summary",
            |v| v["summary"] = serde_json::json!({"x": 1}),
            "summary",
        ),
    ];
    for (what, edit, phrase) in cases {
        let mut value = original.clone();
        edit(&mut value);
        std::fs::write(&edited, serde_json::to_string_pretty(&value).unwrap()).unwrap();
        let err = expect_error(&["verify", path_str(&edited)], &["verification failed"]);
        assert!(err.contains(phrase), "{what}: {err}");
    }
    expect_error(
        &["verify", path_str(&json), "--data", out],
        &["`--data` is for image results"],
    );
    assert!(csv.exists());
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

/// Issue 28: an exact table whose every row diverged is said to be that by `peff plot
/// figure3`, not an empty input.
#[test]
fn plot_of_an_all_diverged_exact_table_says_so() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    run_ok(&[
        "exact",
        "--n",
        "2",
        "--steps",
        "200",
        "--lr",
        "1e30",
        "--methods",
        "magnitude",
        "--k",
        "5,10",
        "--out",
        out,
    ]);
    let csv = tmp.path().join("exact-regression.csv");
    let svg = tmp.path().join("f.svg");
    let err = expect_error(
        &["plot", "figure3", path_str(&csv), "--out", path_str(&svg)],
        &["every training run diverged"],
    );
    assert!(!err.contains("empty"), "{err}");
}

/// Issue 28: GraSP's non-finite scores (a tiny `--grasp-temperature` overflows the
/// Hessian-gradient product) were reported as diverged training ("every training run
/// diverged … lower `--lr`"); they are now reported as GraSP's non-finite scores.
#[test]
fn non_finite_grasp_scores_are_reported_as_such() {
    let tmp = TempDir::new().unwrap();
    let output = peff()
        .args([
            "exact",
            "--n",
            "2",
            "--steps",
            "50",
            "--methods",
            "grasp",
            "--grasp-temperature",
            "1e-300",
            "--k",
            "5",
            "--out",
            path_str(tmp.path()),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("GraSP's scores were not all finite") && err.contains("grasp k=5"),
        "{err}"
    );
    assert!(!err.contains("training run diverged"), "{err}");
}
