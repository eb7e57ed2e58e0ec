//! What runs write (SPEC §9): a result is its CSV and JSON pair, written both or neither and
//! never mixed between concurrent runs or with another run's file; results and shard files of
//! another configuration are not replaced without `--force`; `--name` and `--out` are checked
//! before any work; stale temporaries are removed; every command names the paths it wrote.
//! Checkpoints: a run stopped by SIGINT or SIGTERM saves its checkpoint, leaves nothing
//! half-written and resumes to the uninterrupted table; unusable checkpoints are refused.
//!
//! Every run uses a tiny configuration (d ≤ 3, n ≤ 6, ≤ 10000 steps) in a fresh `TempDir`.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    expect_error, parse_csv, path_str, peff, read, run_ok, run_ok_with_stderr, spawn_until_written,
    toy, with, EXACT_HEADER, NOISE_CORR,
};
use serde_json::Value;
use tempfile::TempDir;

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

/// A kill -9 between the two renames could leave a CSV of one run beside the JSON of another.
/// The JSON records the CSV's SHA-256; `plot` and `verify` refuse a pair that does not match.
#[test]
fn a_csv_and_json_of_two_runs_are_detected() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let args = [
        "exact",
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "30",
        "--methods",
        "magnitude,random",
        "--out",
        out,
        "--name",
        "pair",
    ];
    run_ok(&args);
    let json: serde_json::Value =
        serde_json::from_str(&read(&tmp.path().join("pair.json"))).unwrap();
    let csv_path = tmp.path().join("pair.csv");
    let csv = read(&csv_path);
    use sha2::Digest;
    assert_eq!(
        json["csv_sha256"].as_str().unwrap(),
        format!("{:x}", sha2::Sha256::digest(csv.as_bytes()))
    );
    let svg = tmp.path().join("p.svg");
    run_ok(&[
        "plot",
        "figure3",
        path_str(&csv_path),
        "--out",
        path_str(&svg),
    ]);
    // The CSV of another run (here: one row dropped) beside this JSON.
    let mut lines: Vec<&str> = csv.lines().collect();
    lines.pop();
    std::fs::write(&csv_path, lines.join("\n") + "\n").unwrap();
    let json_path = tmp.path().join("pair.json");
    expect_error(
        &[
            "plot",
            "figure3",
            path_str(&csv_path),
            "--out",
            path_str(&svg),
        ],
        &["two different runs"],
    );
    expect_error(&["verify", path_str(&json_path)], &["two different runs"]);
}

/// Temporary files of a process killed between write and rename stayed forever; a later write
/// of the same name removes those whose process is gone (and leaves a live one's).
#[test]
fn stale_temp_files_of_dead_processes_are_removed() {
    let tmp = TempDir::new().unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = tmp.path().join(format!(".t.csv.tmp{dead}-0"));
    let live = tmp
        .path()
        .join(format!(".t.csv.tmp{}-0", std::process::id()));
    std::fs::write(&stale, "old").unwrap();
    std::fs::write(&live, "live").unwrap();
    run_ok(&[
        "exact",
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "30",
        "--methods",
        "random",
        "--out",
        path_str(tmp.path()),
        "--name",
        "t",
    ]);
    if cfg!(target_os = "linux") {
        assert!(!stale.exists(), "the dead process's temporary is left");
    }
    assert!(live.exists(), "a live process's temporary was removed");
}

/// `--n 8`, `--hidden 8` etc. silently replaced `results/exact-regression.csv`: a result of
/// another configuration is not replaced without `--force` (a rerun of the same one is), and
/// the paths written are printed.
#[test]
fn results_of_another_configuration_are_not_overwritten_silently() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let (_, stderr) = run_ok_with_stderr(&toy("exact", out, &["--methods", "snip"]));
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

/// The "another configuration" check ran only at the start: a long run that finished after a
/// run of another configuration wrote the same names replaced that result. The check is now
/// repeated under the lock before the rename, and the long run's table still reaches stdout.
#[test]
fn another_configurations_result_written_during_a_run_is_not_replaced() {
    for steps in ["1000", "3000", "10000"] {
        let tmp = TempDir::new().unwrap();
        let out = path_str(tmp.path());
        let long = [
            "exact",
            "--n",
            "6",
            "--steps",
            steps,
            "--methods",
            "magnitude",
            "--threads",
            "1",
            "--out",
            out,
            "--name",
            "r",
            "--format",
            "csv",
        ];
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_peff"))
            .args(long)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let short = peff(&[
            "exact",
            "--n",
            "2",
            "--input-dim",
            "2",
            "--steps",
            "30",
            "--methods",
            "random",
            "--out",
            out,
            "--name",
            "r",
        ]);
        let output = child.wait_with_output().unwrap();
        if !short.status.success() {
            continue; // the long run was already done: try a longer one
        }
        let short_json = read(&tmp.path().join("r.json"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "the long run replaced the result");
        assert!(stderr.contains("another configuration"), "{stderr}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.starts_with("task,method,k,"), "table lost: {stdout}");
        assert_eq!(read(&tmp.path().join("r.json")), short_json);
        assert!(read(&tmp.path().join("r.json")).contains("\"random\""));
        return;
    }
    panic!("no attempt overlapped the two runs");
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

/// `peff memorize` checked its result paths (directory writable, not a directory) only when
/// given `--checkpoint`; without it, a directory at the result's path was refused as "a result
/// of another configuration". Every command now runs the same checks before any work.
#[test]
fn memorize_checks_its_result_paths_before_training() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    std::fs::create_dir(tmp.path().join("blocked.json")).unwrap();
    // Hundreds of seeds of a 2,000-image run would take minutes: the refusal must come first.
    let started = Instant::now();
    expect_error(
        &[
            "memorize", "--out", out, "--name", "blocked", "--seeds", "500",
        ],
        &["blocked.json", "is a directory"],
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!tmp.path().join("blocked.csv").exists());
}

/// `--out` naming a file said "File exists (os error 17)". It now says the path is a file (or
/// a dangling link), for every command that writes into a directory and for a file path under
/// a file.
#[test]
fn out_that_is_a_file_says_so() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink(tmp.path().join("gone"), &dangling).unwrap();
    let under = file.join("sub");
    let svg = file.join("x.svg");
    for command in [
        &["exact", "--n", "2"][..],
        &["memorize"],
        &["noise-corr"],
        &["scaling"],
    ] {
        for out in [&file, &under] {
            let line = expect_error(
                &with(command, &["--out", path_str(out)]),
                &["`--out`", "is a file, not a directory"],
            );
            assert!(!line.contains("os error"), "{line}");
        }
        expect_error(
            &with(command, &["--out", path_str(&dangling)]),
            &["`--out`", "is a dangling link to"],
        );
    }
    expect_error(
        &["plot", "figure3", "--out", path_str(&svg)],
        &["`--out`", "is a file, not a directory"],
    );
    assert_eq!(read(&file), "x");
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

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// docs/large-runs.md says every command prints the paths it wrote on stderr; shard files and
/// `--dump-init` were written silently on stderr (a shard's path went to stdout only). Runs
/// commands that write each kind of file and fails if a new file under the temporary directory
/// is not named on a `wrote` line of that command's stderr.
#[test]
fn every_command_prints_the_paths_it_wrote() {
    let tmp = TempDir::new().unwrap();
    let dir = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let (toy, shards, merged, plots) = (dir("toy"), dir("shards"), dir("merged"), dir("plots"));
    let init = format!("{toy}/init.json");
    let memorize_csv = format!("{merged}/memorize-gaussian.csv");
    let svg = format!("{plots}/f.svg");
    let memorize = [
        "memorize",
        "--n",
        "6",
        "--input-dim",
        "4",
        "--width",
        "8",
        "--max-epochs",
        "50",
        "--densities",
        "0.5",
        "--methods",
        "random",
        "--seeds",
        "2",
        "--out",
        &shards,
    ];
    let toy_args = [
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "50",
        "--out",
        &toy,
    ];
    let commands: Vec<Vec<&str>> = vec![
        with(&["exact"], &with(&toy_args, &["--dump-init", &init])),
        with(&["exact"], &with(&toy_args, &["--shard", "0/2"])),
        with(&["sample", "--samples", "10"], &toy_args),
        with(
            &["scaling", "--n", "1..2", "--shard", "1/2"],
            &toy_args[2..],
        ),
        with(&memorize, &["--shard", "0/2"]),
        with(&memorize, &["--shard", "1/2"]),
        with(&NOISE_CORR, &["--out", &shards, "--shard", "0/2"]),
    ];
    let mut all_shards = Vec::new();
    for args in commands.iter().map(Vec::as_slice).chain([
        &["merge", "--out", &merged][..],
        &["plot", "figure1a", &memorize_csv, "--out", &svg],
    ]) {
        let before = files_under(tmp.path());
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if args[0] == "merge" {
            args.extend(all_shards.iter().cloned());
        }
        let (_, stderr) = run_ok_with_stderr(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let wrote: Vec<&str> = stderr.lines().filter(|l| l.contains("wrote ")).collect();
        let new: Vec<_> = files_under(tmp.path())
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        assert!(!new.is_empty(), "peff {} wrote nothing", args.join(" "));
        for file in new {
            let shown = path_str(&file);
            assert!(
                wrote.iter().any(|l| l.contains(shown)),
                "peff {}: wrote {shown} without saying so: {stderr:?}",
                args.join(" ")
            );
            if shown.contains("memorize-gaussian.shard") {
                all_shards.push(shown.to_string());
            }
        }
    }
}

// ---- checkpoints: stopped runs resume ----

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

/// The `peff exact` run the interruption tests below stop and resume (a few seconds of work,
/// so that a signal lands before it ends).
const INTERRUPTED_EXACT: &[&str] = &[
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

/// SIGINT during `peff exact --checkpoint FILE --checkpoint-interval 0` (d = 3, n = 6: 54,264
/// multisets in 7 windows of 8,192): the run exits non-zero with one line naming the
/// checkpoint, leaves no temporary or half-written file, the checkpoint is an unfinished
/// partial result that `peff merge` refuses, and rerunning the command resumes and writes a
/// CSV byte-identical to an uninterrupted run. The signal is sent as soon as the first
/// checkpoint exists; if a run still finishes first, the attempt is repeated (at most 3), and
/// at least one attempt must have been interrupted.
#[test]
fn interrupted_run_resumes_from_its_checkpoint() {
    let args = INTERRUPTED_EXACT;
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
        let mut child = spawn_until_written(&full, &checkpoint, Duration::from_millis(2));
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

/// SIGTERM (Slurm's preemption signal) killed the run without saving its checkpoint; now it
/// stops like SIGINT: the checkpoint is saved, the exit status is 143 (128 + 15), and the rerun
/// resumes to the table of an uninterrupted run.
#[test]
fn sigterm_saves_the_checkpoint_and_exits_143() {
    let tmp = TempDir::new().unwrap();
    let args = INTERRUPTED_EXACT;
    let reference_out = tmp.path().join("reference");
    let mut reference_args = args.to_vec();
    reference_args.extend(["--out", path_str(&reference_out)]);
    let reference = run_ok(&reference_args);
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
        let mut child = spawn_until_written(&full, &checkpoint, Duration::from_millis(2));
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
        let resumed = run_ok(&full);
        assert_eq!(resumed, reference);
        return;
    }
    panic!("no attempt was stopped by SIGTERM");
}
