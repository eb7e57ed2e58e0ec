//! Regression tests of issue 11 ("what a new user ran into"): each test is named after what it
//! guards and fails on the behaviour the issue reported. Every run uses a tiny configuration
//! (d ≤ 3, n ≤ 6, ≤ 1000 steps) in a fresh `TempDir`, so the file takes seconds.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

fn peff() -> Command {
    Command::new(env!("CARGO_BIN_EXE_peff"))
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs `peff args…`, asserts success and returns (stdout, stderr).
fn run_ok(args: &[&str]) -> (String, String) {
    let output = peff().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "peff {} failed: {stderr}",
        args.join(" ")
    );
    (String::from_utf8(output.stdout).unwrap(), stderr)
}

/// Runs `peff args…` and checks the bad-input contract: non-zero exit (not a signal, not a
/// panic's 101), exactly one line on stderr containing every phrase. Returns the line.
fn expect_error(args: &[&str], phrases: &[&str]) -> String {
    let output = peff().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let context = format!("peff {}: stderr {stderr:?}", args.join(" "));
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("{context}: killed"));
    assert!(code != 0 && code != 101, "{context}: exit {code}");
    assert!(!stderr.contains("panicked"), "{context}: panicked");
    assert_eq!(stderr.lines().count(), 1, "{context}: not one line");
    for phrase in phrases {
        assert!(stderr.contains(phrase), "{context}: no {phrase:?}");
    }
    stderr.trim_end().to_string()
}

/// A small toy configuration (p = 17) writing into `out`, followed by `extra`.
fn toy<'a>(command: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        command,
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "30",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// `--k p`, `--sparsity 0` (k = p) and IMP at k = p panicked at "every method has rows" in
/// exact, sample and converge; now every command refuses them with one line naming the flag
/// and the valid range of k (p = 17 here).
#[test]
fn kept_count_equal_to_p_is_refused_not_a_panic() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for command in ["exact", "sample", "converge"] {
        for extra in [
            &["--k", "17"][..],
            &["--methods", "imp", "--k", "17"],
            &["--sparsity", "0"],
            &["--sparsity", "0,0.5", "--methods", "imp"],
        ] {
            let flag = extra[extra.len() - 2];
            let flag = if flag == "--methods" { extra[0] } else { flag };
            expect_error(&toy(command, out, extra), &[flag, "must be in", "[1, 16]"]);
        }
    }
}

/// A recorded configuration whose requested k reach no row of a method (hand-edited JSON) is
/// refused by `peff verify` instead of panicking.
#[test]
fn verify_of_a_configuration_without_rows_is_refused_not_a_panic() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    run_ok(&toy("exact", out, &["--methods", "imp", "--k", "9"]));
    let json = tmp.path().join("exact-regression.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    v["run"]["config"]["experiment"]["requested_k"] = serde_json::json!([17]);
    std::fs::write(&json, serde_json::to_string(&v).unwrap()).unwrap();
    expect_error(
        &["verify", path_str(&json)],
        &["requested k must be in [1, 16]"],
    );
}

/// IMP reports the k its schedule visits; when the user asked for others, stderr says so
/// instead of dropping the requested rows silently.
#[test]
fn imp_rows_other_than_requested_are_noted() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let (_, stderr) = run_ok(&toy(
        "exact",
        out,
        &["--methods", "imp,snip", "--k", "11,8"],
    ));
    assert!(
        stderr.contains("note: imp reports the k its schedule visits"),
        "{stderr}"
    );
    assert!(!stderr.contains("note: snip"), "{stderr}");
}

/// Two counts of 2^63 − 1 made the bootstrap's binomial sampler panic; totals above 2^53 are
/// now refused with one line.
#[test]
fn bootstrap_total_beyond_its_limit_is_refused_not_a_panic() {
    let output = peff()
        .args(["entropy", "-"])
        .write_stdin("9223372036854775807\n9223372036854775807\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("above the bootstrap's limit of 2^53"),
        "{stderr}"
    );
    let counts = [1u64 << 53, 1];
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    assert!(peff::info::estimators::multinomial_sample(&counts, 1 << 53, &mut rng).is_err());
    assert!(
        peff::info::estimators::multinomial_sample(&[1 << 52, 1 << 52], 1 << 53, &mut rng).is_ok()
    );
}

/// `--name /abs`, `../x`, `""`, `a/b` wrote files outside `--out`; every command with
/// `--name` refuses them with one line naming the flag, and nothing is written.
#[test]
fn result_names_with_separators_or_empty_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let out = path_str(&out);
    for name in ["/abs", "../x", "", "a/b", "a\\b", ".hidden", ".."] {
        for command in ["exact", "sample", "converge"] {
            let arg = format!("--name={name}");
            expect_error(&toy(command, out, &[&arg]), &["--name"]);
        }
        let arg = format!("--name={name}");
        expect_error(&["merge", "x.json", "--out", out, &arg], &["--name"]);
    }
    assert!(!tmp.path().join("out").exists());
    assert!(!Path::new("/abs.csv").exists());
}

/// Flags a command does not use were accepted and ignored (`converge --shard/--checkpoint/
/// --inits`, `sample --max-datasets`); now they are refused with one line naming the flag.
#[test]
fn flags_a_command_does_not_use_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for (command, extra) in [
        ("converge", &["--shard", "0/2"][..]),
        ("converge", &["--checkpoint", "c.json"]),
        (
            "converge",
            &["--checkpoint", "c.json", "--checkpoint-interval", "5"],
        ),
        ("converge", &["--inits", "2"]),
        ("converge", &["--dump-init", "i.json"]),
        ("sample", &["--max-datasets", "5"]),
        ("sample", &["--inits", "2"]),
    ] {
        let flag = if extra[0] == "--checkpoint" && extra.len() == 2 {
            "--checkpoint"
        } else {
            extra[0]
        };
        expect_error(&toy(command, out, extra), &[flag, "is not used by"]);
    }
    expect_error(
        &toy("exact", out, &["--checkpoint-interval", "5"]),
        &["--checkpoint-interval", "needs `--checkpoint"],
    );
}

/// `--init FILE --init-seed 5` recorded a seed that was not used, `--dump-init F --inits 3`
/// dumped one init of three, `--init-seed 2^64−1 --inits 2` wrapped to seed 0: all refused.
#[test]
fn init_flags_that_cannot_all_hold_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let init = tmp.path().join("init.json");
    run_ok(&toy(
        "exact",
        out,
        &["--dump-init", path_str(&init), "--k", "3"],
    ));
    expect_error(
        &toy(
            "exact",
            out,
            &["--init", path_str(&init), "--init-seed", "5"],
        ),
        &["--init", "--init-seed", "cannot be used with"],
    );
    expect_error(
        &toy("exact", out, &["--dump-init", "d.json", "--inits", "3"]),
        &["--dump-init", "--inits", "cannot be used with"],
    );
    expect_error(
        &toy(
            "exact",
            out,
            &["--init-seed", "18446744073709551615", "--inits", "2"],
        ),
        &["--init-seed", "2^64"],
    );
}

/// Error messages that were wrong or unhelpful: `--resamples 1` said "[1, …]", `all,imp` said
/// "unknown method 'all'", `--max-datasets 0` suggested an impossible shard count, the
/// `--sparsity` limit disagreed with what was accepted, a bad `--task` listed no valid values.
#[test]
fn messages_state_the_rule_that_was_broken() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let output = peff()
        .args(["entropy", "--resamples", "1", "-"])
        .write_stdin("3\n2\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`--resamples` must be in [2, 1000000], got 1"),
        "{stderr}"
    );
    let line = expect_error(
        &toy("exact", out, &["--methods", "all,imp"]),
        &["--methods", "`all`"],
    );
    assert!(!line.contains("unknown method"), "{line}");
    expect_error(
        &toy("exact", out, &["--max-datasets", "0"]),
        &["--max-datasets", "≥ 1"],
    );
    expect_error(
        &toy("exact", out, &["--task", "Regression"]),
        &["--task", "regression, classification"],
    );
    // p = 17: the message's range [0.0295, 0.9705] is exactly what is accepted.
    let line = expect_error(&toy("exact", out, &["--sparsity", "0.98"]), &["--sparsity"]);
    assert!(line.contains("[0.0295, 0.9705]"), "{line}");
    for ok in ["0.0295", "0.9705"] {
        run_ok(&toy(
            "exact",
            out,
            &["--sparsity", ok, "--methods", "snip", "--force"],
        ));
    }
    for bad in ["0.0294", "0.9706"] {
        expect_error(
            &toy("exact", out, &["--sparsity", bad]),
            &["[0.0295, 0.9705]"],
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
        let output = peff().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr.contains("Usage:") && stderr.contains("Commands:"),
            "{stderr}"
        );
    }
    let output = peff().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    for command in [
        "exact", "sample", "entropy", "converge", "plot", "merge", "verify", "bound", "bench",
    ] {
        assert!(stderr.contains(command), "{command}: {stderr}");
    }
}

/// `bound --n 1e308` printed `null` and fractional `--n`/`--k` were accepted.
#[test]
fn bound_refuses_fractional_counts_and_unrepresentable_results() {
    let base = [
        "bound",
        "--d",
        "50",
        "--epsilon",
        "0.1",
        "--delta",
        "0.05",
        "--w",
        "10",
        "--j",
        "1",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    expect_error(
        &with(&["--n", "1e308", "--mi", "20", "--k", "100"]),
        &["--n", "whole number"],
    );
    expect_error(
        &with(&["--n", "1000.5", "--mi", "20", "--k", "100"]),
        &["--n", "got 1000.5"],
    );
    expect_error(
        &with(&["--n", "1000", "--mi", "20", "--k", "2.5"]),
        &["--k", "whole number"],
    );
    let mut args: Vec<&str> = vec!["bound", "--d", "50", "--epsilon", "0.1", "--delta", "0.05"];
    args.extend([
        "--w", "1e308", "--j", "1e308", "--n", "1000", "--mi", "20", "--k", "100",
    ]);
    expect_error(&args, &["not representable"]);
    let (stdout, _) = run_ok(&with(&["--n", "1000", "--mi", "20", "--k", "100"]));
    assert!(!stdout.contains("null"), "{stdout}");
}

/// `bench --threads 1000` ran for minutes; more threads than logical CPUs are refused.
#[test]
fn bench_threads_beyond_the_cpus_are_refused() {
    expect_error(&["bench", "--threads", "1000"], &["--threads", "got 1000"]);
    expect_error(&["bench", "--flops-per-cycle", "0"], &["--flops-per-cycle"]);
}

/// `--k 5,,6` was accepted while `--samples 50,,100` was refused, and duplicates were dropped
/// silently: one rule for every list (no empty item, no repeat).
#[test]
fn every_list_flag_follows_one_rule() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for (command, flag, empty, repeat) in [
        ("exact", "--k", "5,,6", "5,6,5"),
        ("exact", "--sparsity", "0.5,,0.6", "0.5,0.6,0.5"),
        ("exact", "--methods", "snip,,imp", "snip,imp,snip"),
        ("converge", "--samples", "50,,100", "50,100,50"),
        ("converge", "--k", "5,", "5,5"),
    ] {
        expect_error(&toy(command, out, &[flag, empty]), &[flag, "empty item"]);
        expect_error(&toy(command, out, &[flag, repeat]), &[flag, "twice"]);
    }
    // Two sparsities that round to the same k are a repeat too.
    expect_error(
        &toy("exact", out, &["--sparsity", "0.5,0.49"]),
        &["both give k = 9"],
    );
}

/// Error messages echoed whole inputs (a 10 MB line went to stderr): quoted input is cut.
#[test]
fn errors_quoting_huge_inputs_stay_short() {
    let tmp = TempDir::new().unwrap();
    let huge = "7".repeat(100_000) + "x";
    let counts = tmp.path().join("counts.txt");
    std::fs::write(&counts, format!("3\n{huge}\n")).unwrap();
    let line = expect_error(&["entropy", path_str(&counts)], &["line 2"]);
    assert!(line.len() < 500, "{} bytes", line.len());
    let long_k = format!("--k={huge}");
    let line = expect_error(&["exact", &long_k], &["--k"]);
    assert!(line.len() < 500, "{} bytes", line.len());
    let line = expect_error(&["exact", "--task", &huge], &["--task"]);
    assert!(line.len() < 600, "{} bytes", line.len());
}

/// `--init /dev/zero` and gigabytes of counts grew memory without bound; inputs are capped.
#[test]
fn unbounded_inputs_are_refused_at_a_cap() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    expect_error(
        &toy("exact", out, &["--init", "/dev/zero"]),
        &["--init", "limit of 1 MiB"],
    );
    expect_error(
        &["entropy", "/dev/zero"],
        &["counts file", "limit of 256 MiB"],
    );
    expect_error(&["verify", "/dev/zero"], &["limit of 64 MiB"]);
}

/// SIGTERM (Slurm's preemption signal) killed the run without saving its checkpoint; now it
/// stops like SIGINT: the checkpoint is saved, the exit status is 143 (128 + 15), and the rerun
/// resumes to the table of an uninterrupted run.
#[test]
fn sigterm_saves_the_checkpoint_and_exits_143() {
    let tmp = TempDir::new().unwrap();
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
    let reference_out = tmp.path().join("reference");
    let mut reference_args = args.to_vec();
    reference_args.extend(["--out", path_str(&reference_out)]);
    let (reference, _) = run_ok(&reference_args);
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let out = dir.join("out");
        let checkpoint = dir.join("run.ckpt");
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
        if child.try_wait().unwrap().is_some() {
            continue; // finished before the signal: try again
        }
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.success() {
            continue; // the last window ended before the signal was seen
        }
        assert_eq!(output.status.code(), Some(143), "{stderr}");
        assert!(stderr.contains("checkpoint"), "{stderr}");
        let saved = peff::experiments::toy::partial::Partial::read(&checkpoint).unwrap();
        assert!(saved.payload.done > 0 && !saved.is_complete());
        let (resumed, _) = run_ok(&full);
        assert_eq!(resumed, reference);
        return;
    }
    panic!("no attempt was stopped by SIGTERM");
}

/// A result is its pair: when one file cannot be written (a full disk; here its directory is a
/// regular file), neither is, and no temporary is left behind.
#[test]
fn result_pair_is_written_both_or_neither() {
    let tmp = TempDir::new().unwrap();
    let csv = tmp.path().join("r.csv");
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let json = blocker.join("r.json");
    let err = peff::export::write_result_files(
        &[(csv.clone(), b"a,b\n".to_vec()), (json, b"{}".to_vec())],
        None,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("no result file was written"),
        "{err:#}"
    );
    assert!(!csv.exists());
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // And the happy path writes both.
    let json = tmp.path().join("r.json");
    peff::export::write_result_files(
        &[(csv.clone(), b"x".to_vec()), (json.clone(), b"y".to_vec())],
        None,
    )
    .unwrap();
    assert_eq!(std::fs::read(&csv).unwrap(), b"x");
    assert_eq!(std::fs::read(&json).unwrap(), b"y");
}

/// Two runs writing the same `--out` and `--name` concurrently: the CSV on disk and the rows
/// of the JSON beside it always come from the same run.
#[test]
fn concurrent_runs_never_mix_their_result_pairs() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for _ in 0..4 {
        let children: Vec<_> = ["0", "1"]
            .iter()
            .map(|seed| {
                std::process::Command::new(env!("CARGO_BIN_EXE_peff"))
                    .args(toy(
                        "exact",
                        out,
                        &[
                            "--methods",
                            "snip",
                            "--init-seed",
                            seed,
                            "--name",
                            "r",
                            "--force",
                        ],
                    ))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let csv = std::fs::read_to_string(tmp.path().join("r.csv")).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap())
                .unwrap();
        let entropies: Vec<String> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(4).unwrap().to_string())
            .collect();
        let recorded: Vec<String> = json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["entropy_bits"].to_string())
            .collect();
        assert_eq!(entropies, recorded);
    }
}

/// A checkpoint or `--dump-init` path equal to a result file was overwritten, and an unusable
/// `--checkpoint` path failed only after the first window: every output path is now checked
/// before any work.
#[test]
fn output_paths_are_checked_before_any_work() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let json = tmp.path().join("exact-regression.json");
    let csv = tmp.path().join("exact-regression.csv");
    for (flag, path) in [
        ("--checkpoint", &json),
        ("--dump-init", &csv),
        ("--checkpoint", &csv),
    ] {
        expect_error(
            &toy("exact", out, &[flag, path_str(path)]),
            &[flag, "same file as"],
        );
        assert!(!path.exists());
    }
    // The same file through another spelling of the directory.
    let other = format!("{out}/./exact-regression.json");
    expect_error(
        &toy("exact", out, &["--dump-init", &other]),
        &["--dump-init", "same file"],
    );
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let under_file = blocker.join("run.ckpt");
    // n = 6 with 2000 steps would take seconds: the refusal must come before any of it.
    let started = Instant::now();
    expect_error(
        &["exact", "--out", out, "--checkpoint", path_str(&under_file)],
        &["--checkpoint"],
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    expect_error(
        &toy("exact", out, &["--checkpoint", out]),
        &["--checkpoint", "is a directory"],
    );
    assert!(!json.exists() && !csv.exists());
}

/// `--n 8`, `--hidden 8` etc. silently replaced `results/exact-regression.csv`: a result of
/// another configuration is not replaced without `--force` (a rerun of the same one is), and
/// the paths written are printed.
#[test]
fn results_of_another_configuration_are_not_overwritten_silently() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let (_, stderr) = run_ok(&toy("exact", out, &["--methods", "snip"]));
    let csv = tmp.path().join("exact-regression.csv");
    assert!(
        stderr.contains(&format!("wrote {}", csv.display())),
        "{stderr}"
    );
    assert!(stderr.contains("exact-regression.json"), "{stderr}");
    let before = std::fs::read_to_string(&csv).unwrap();
    run_ok(&toy("exact", out, &["--methods", "snip"]));
    expect_error(
        &toy("exact", out, &["--methods", "snip", "--hidden", "3"]),
        &["another configuration", "--force"],
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), before);
    run_ok(&toy(
        "exact",
        out,
        &["--methods", "snip", "--hidden", "3", "--force"],
    ));
    assert_ne!(std::fs::read_to_string(&csv).unwrap(), before);
}

/// A shard of `--n 12` was silently replaced by the shard of `--input-dim 5` with the same
/// index: both are `exact-regression.shard-0-of-100.json`. A shard file of another
/// configuration is now refused like a result file (a rerun of the same shard replaces it).
#[test]
fn shard_files_of_another_configuration_are_not_overwritten_silently() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let shard = tmp.path().join("exact-regression.shard-0-of-2.json");
    let args = ["--methods", "snip", "--shard", "0/2"];
    run_ok(&toy("exact", out, &args));
    let before = std::fs::read_to_string(&shard).unwrap();
    run_ok(&toy("exact", out, &args));
    let other = ["--methods", "snip", "--shard", "0/2", "--hidden", "3"];
    expect_error(
        &toy("exact", out, &other),
        &["holds a shard of another configuration", "--force"],
    );
    assert_eq!(std::fs::read_to_string(&shard).unwrap(), before);
    let forced = [
        "--methods",
        "snip",
        "--shard",
        "0/2",
        "--hidden",
        "3",
        "--force",
    ];
    run_ok(&toy("exact", out, &forced));
    assert_ne!(std::fs::read_to_string(&shard).unwrap(), before);
}

/// `--lr 1e300` made every run diverge and the table showed 0 bits and `p_eff = k` with no
/// warning. Rows whose every run diverged now have empty entropy cells (JSON `null`) and a
/// warning on stderr, in `exact` and in `sample`.
#[test]
fn rows_whose_runs_all_diverged_do_not_look_like_results() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let (csv, stderr) = run_ok(&toy(
        "exact",
        out,
        &[
            "--lr",
            "1e300",
            "--methods",
            "magnitude,snip",
            "--k",
            "3",
            "--format",
            "csv",
        ],
    ));
    assert!(
        stderr.contains("warning: every training run diverged in 1 rows (magnitude k=3)"),
        "{stderr}"
    );
    let magnitude = csv.lines().find(|l| l.contains(",magnitude,")).unwrap();
    assert!(magnitude.contains(",,"), "{magnitude}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("exact-regression.json")).unwrap(),
    )
    .unwrap();
    let row = &json["rows"][0];
    assert_eq!(row["method"], "magnitude");
    assert!(
        row["entropy_bits"].is_null() && row["p_eff"].is_null(),
        "{row}"
    );
    let (csv, stderr) = run_ok(&toy(
        "sample",
        out,
        &[
            "--samples",
            "20",
            "--lr",
            "1e300",
            "--methods",
            "magnitude",
            "--k",
            "3",
            "--format",
            "csv",
        ],
    ));
    assert!(stderr.contains("every training run diverged"), "{stderr}");
    let row = csv.lines().nth(1).unwrap();
    assert!(row.ends_with(",none,,,"), "{row}");
}

/// `plot figure3` drew zig-zags from a `sample` or `--inits` CSV and nonsense from MI above
/// the ceiling or negative; `--out f.png` wrote SVG. What a plot reads is validated.
#[test]
fn plots_refuse_tables_they_cannot_draw() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    run_ok(&toy(
        "sample",
        out,
        &["--samples", "20", "--methods", "snip", "--k", "3,5"],
    ));
    run_ok(&toy(
        "exact",
        out,
        &[
            "--methods",
            "snip",
            "--k",
            "3,5",
            "--inits",
            "2",
            "--name",
            "inits",
        ],
    ));
    run_ok(&toy("exact", out, &["--methods", "snip", "--k", "3,5"]));
    let svg = tmp.path().join("f.svg");
    let svg = path_str(&svg);
    let file = |name: &str| tmp.path().join(name);
    for name in ["sample-regression.csv", "inits.csv"] {
        expect_error(
            &["plot", "figure3", path_str(&file(name)), "--out", svg],
            &["is not a `peff exact` table"],
        );
    }
    let exact = std::fs::read_to_string(file("exact-regression.csv")).unwrap();
    let mut lines: Vec<String> = exact.lines().map(str::to_string).collect();
    // Columns: task,method,k,sparsity,entropy_bits,mi_bits,ceiling_bits,…
    for (value, phrase) in [("99", "outside [0, log2 C(17, 5)]"), ("-1", "outside [0,")] {
        let mut fields: Vec<String> = lines[1].split(',').map(str::to_string).collect();
        fields[5] = value.to_string();
        let edited = lines.clone();
        let mut edited = edited;
        edited[1] = fields.join(",");
        let path = file("edited.csv");
        std::fs::write(&path, edited.join("\n") + "\n").unwrap();
        expect_error(
            &["plot", "figure3", path_str(&path), "--out", svg],
            &["mi_bits", phrase],
        );
    }
    lines.push(lines[1].clone());
    std::fs::write(file("twice.csv"), lines.join("\n") + "\n").unwrap();
    expect_error(
        &[
            "plot",
            "figure3",
            path_str(&file("twice.csv")),
            "--out",
            svg,
        ],
        &["appears twice"],
    );
    expect_error(
        &[
            "plot",
            "figure3",
            path_str(&file("exact-regression.csv")),
            "--out",
            "f.png",
        ],
        &["--out", ".svg"],
    );
    expect_error(
        &[
            "plot",
            "convergence",
            path_str(&file("exact-regression.csv")),
            "--out",
            svg,
        ],
        &["is not a `peff converge` table"],
    );
    run_ok(&[
        "plot",
        "figure3",
        path_str(&file("exact-regression.csv")),
        "--out",
        svg,
    ]);
}

/// `verify` passed a result whose rows were edited (entropies set to 0, rows deleted): it
/// checked only the pmf hash. It now recomputes the table and compares it with the JSON's rows
/// and the CSV beside it.
#[test]
fn verify_recomputes_the_table_the_file_records() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    run_ok(&toy("exact", out, &["--methods", "snip,imp", "--k", "5"]));
    let json = tmp.path().join("exact-regression.json");
    let csv = tmp.path().join("exact-regression.csv");
    let (stdout, _) = run_ok(&["verify", path_str(&json)]);
    assert!(stdout.contains("table"), "{stdout}");
    let original = std::fs::read_to_string(&json).unwrap();
    let value: serde_json::Value = serde_json::from_str(&original).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        std::fs::write(&json, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    };
    edit(&|v| {
        for row in v["rows"].as_array_mut().unwrap() {
            row["entropy_bits"] = serde_json::json!(0.0);
        }
    });
    expect_error(
        &["verify", path_str(&json)],
        &["verification failed", "table differs"],
    );
    edit(&|v| {
        v["rows"].as_array_mut().unwrap().pop();
    });
    expect_error(
        &["verify", path_str(&json)],
        &["verification failed", "table differs"],
    );
    std::fs::write(&json, &original).unwrap();
    let table = std::fs::read_to_string(&csv).unwrap();
    let cut: Vec<&str> = table.lines().take(2).collect();
    std::fs::write(&csv, cut.join("\n") + "\n").unwrap();
    // The JSON records the CSV's SHA-256, so an edited CSV is caught before any rerun.
    expect_error(
        &["verify", path_str(&json)],
        &["exact-regression.csv", "come from two different runs"],
    );
}

/// `Partial::new`'s checksum recomputed after an edit, as anyone can.
fn resign(mut partial: peff::experiments::toy::partial::Partial) -> String {
    use sha2::{Digest, Sha256};
    partial.checksum.clear();
    let unsigned = serde_json::to_string(&partial).unwrap();
    partial.checksum = format!("{:x}", Sha256::digest(unsigned.as_bytes()));
    serde_json::to_string(&partial).unwrap()
}

/// Hand-edited shards with a recomputed checksum: an empty range with zero tallies merged into
/// a wrong table, and `diverged` wrapped to 2^64 − 2. Ranges, totals and overflow are checked.
#[test]
fn edited_shards_with_valid_checksums_cannot_merge_into_a_wrong_table() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let mut shards = Vec::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let (stdout, _) = run_ok(&toy(
            "exact",
            out,
            &["--methods", "snip", "--k", "5", "--shard", &shard],
        ));
        shards.push(std::path::PathBuf::from(stdout.trim()));
    }
    let read = |p: &Path| peff::experiments::toy::partial::Partial::read(p).unwrap();
    let edited = tmp.path().join("edited.json");
    let merge_with = |second: &Path, phrase: &str| {
        expect_error(
            &[
                "merge",
                path_str(&shards[0]),
                path_str(second),
                "--out",
                out,
            ],
            &[phrase],
        )
    };
    // Shard 1 emptied: its range [18, 18) and zero tallies.
    let mut p = read(&shards[1]);
    p.payload.start = p.payload.end;
    p.payload.done = 0;
    for row in &mut p.payload.rows {
        row.total_weight = "0".into();
        row.tie_weight = "0".into();
        row.diverged_weight = "0".into();
        row.diverged_datasets = 0;
        row.masks.clear();
    }
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(&edited, "edited.json");
    // Zero tallies over the right range.
    let mut p = read(&shards[1]);
    for row in &mut p.payload.rows {
        row.total_weight = "0".into();
        row.tie_weight = "0".into();
        row.diverged_weight = "0".into();
        row.masks.clear();
    }
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(&edited, "edited.json");
    // Diverged counts near 2^64 that would wrap when added.
    let mut p = read(&shards[1]);
    p.payload.rows[0].diverged_datasets = u64::MAX - 1;
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(&edited, "edited.json");
    // Weights moved from one mask to a new one: totals still add up, so this is a valid pmf of
    // another run; but weights scaled up break the run's total V^n.
    let mut p = read(&shards[1]);
    let row = &mut p.payload.rows[0];
    let scaled: u128 = row.total_weight.parse::<u128>().unwrap() * 2;
    row.total_weight = scaled.to_string();
    for (_, w) in &mut row.masks {
        *w = (w.parse::<u128>().unwrap() * 2).to_string();
    }
    row.tie_weight = "0".into();
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(
        &edited,
        "weights add up to 95 for snip k=5, not the run's total 64",
    );
    // The genuine shards merge.
    run_ok(&[
        "merge",
        path_str(&shards[0]),
        path_str(&shards[1]),
        "--out",
        out,
        "--name",
        "merged",
    ]);
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
    assert_eq!(before, after, ".git/index was rewritten");
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

/// Issue 26: the sparse-kernel threshold is a kept fraction; outside `[0, 1]` (or not a number)
/// it is refused in one line by every command that takes it.
#[test]
fn sparse_below_outside_the_unit_interval_is_refused() {
    for command in ["memorize", "noise-corr"] {
        for bad in ["1.5", "-0.1", "NaN", "inf"] {
            expect_error(
                &[
                    command,
                    "--sparse-below",
                    bad,
                    "--out",
                    "/nonexistent/never",
                ],
                &["--sparse-below", "[0, 1]"],
            );
        }
    }
}

/// Issue 28: `peff merge shards/NAME.shard-*.json` wrote the command's default result name, so
/// the README's per-method recipe failed at its second method; the shards' stem now names the
/// result unless `--name` says otherwise.
#[test]
fn merge_names_the_result_after_its_shards() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().to_str().unwrap();
    for method in ["random", "magnitude"] {
        let name = format!("tiny-{method}");
        for shard in ["0/2", "1/2"] {
            run_ok(&[
                "exact",
                "--n",
                "2",
                "--steps",
                "50",
                "--methods",
                method,
                "--shard",
                shard,
                "--name",
                &name,
                "--out",
                out,
            ]);
        }
        let shards: Vec<String> = (0..2)
            .map(|i| format!("{out}/{name}.shard-{i}-of-2.json"))
            .collect();
        let mut args = vec!["merge", "--out", out];
        args.extend(shards.iter().map(String::as_str));
        run_ok(&args);
        assert!(
            dir.path().join(format!("{name}.csv")).exists(),
            "{name}.csv"
        );
    }
    assert!(!dir.path().join("exact-regression.csv").exists());
}

/// Issue 28: a small MLP failed with the internal "level 15 does not keep 1 weights"; the default
/// densities it cannot reach are left out with a note, and the run completes.
#[test]
fn small_networks_run_the_default_levels_they_reach() {
    let dir = tempfile::TempDir::new().unwrap();
    let (_, stderr) = run_ok(&[
        "memorize",
        "--width",
        "2",
        "--depth",
        "1",
        "--seeds",
        "1",
        "--n",
        "4",
        "--input-dim",
        "2",
        "--max-epochs",
        "5",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(stderr.contains("reach IMP level"), "{stderr}");
    assert!(!stderr.contains("does not keep"), "{stderr}");
}

/// Issue 28: a tiny `--imp-rate` meant millions of IMP levels, each a training run, and ran
/// without a word; past 100,000 levels it is refused in one line (the warning below that is
/// tested in `cli::memorize`).
#[test]
fn tiny_imp_rates_are_refused_with_the_level_count() {
    expect_error(
        &[
            "memorize",
            "--imp-rate",
            "1e-9",
            "--width",
            "4000",
            "--depth",
            "2",
            "--seeds",
            "1",
            "--out",
            "/nonexistent/never",
        ],
        &["--imp-rate", "levels per seed", "at most 100000"],
    );
}
