//! Regression tests of issue 20 ("what a new user ran into, round 2"): data loss, misleading
//! results, flags accepted and ignored, unclear errors. Each test is named after what it guards
//! and fails on the behaviour the issue reported. Configurations are tiny (toy d = 2, n ≤ 6;
//! noise-corr students of a few units), so the file takes seconds.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

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

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A tiny noise-corr configuration (IMP, 2 prunes), without its seeds and epochs.
const NOISE_CORR_BASE: [&str; 16] = [
    "noise-corr",
    "--d",
    "3",
    "--teacher-hidden",
    "4",
    "--student-hidden",
    "6,5",
    "--n",
    "20",
    "--mc",
    "50",
    "--lr",
    "1e-2",
    "--prunes",
    "2",
    "--threads=1",
];

/// [`NOISE_CORR_BASE`] with 3 seeds of 3 epochs per level.
const NOISE_CORR: [&str; 20] = [
    "noise-corr",
    "--d",
    "3",
    "--teacher-hidden",
    "4",
    "--student-hidden",
    "6,5",
    "--n",
    "20",
    "--mc",
    "50",
    "--lr",
    "1e-2",
    "--prunes",
    "2",
    "--threads=1",
    "--epochs-per-level",
    "3",
    "--seeds",
    "3",
];

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    [base, extra].concat()
}

/// `peff merge … --name <an input shard's name>` replaced its own input with the result. A
/// result now never replaces a shard file (or checkpoint), `--force` or not.
#[test]
fn a_result_never_replaces_a_shard_file() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let mut shards = Vec::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let (stdout, _) = run_ok(&with(&NOISE_CORR, &["--out", out, "--shard", &shard]));
        shards.push(stdout.trim().to_string());
    }
    let before = read(Path::new(&shards[0]));
    let stem = Path::new(&shards[0])
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for force in [false, true] {
        let mut args = vec![
            "merge", &shards[0], &shards[1], "--out", out, "--name", &stem,
        ];
        if force {
            args.push("--force");
        }
        expect_error(
            &args,
            &["a result never replaces", "choose another `--name`"],
        );
    }
    assert_eq!(read(Path::new(&shards[0])), before);
}

/// `peff merge shards/*.json` run a second time failed on the first merge's own result, which
/// the glob now matches. That result is of the same run: it is skipped with a note.
#[test]
fn merging_twice_skips_the_first_merges_result() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for i in 0..2 {
        let shard = format!("{i}/2");
        run_ok(&with(&NOISE_CORR, &["--out", out, "--shard", &shard]));
    }
    let files = || -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| p.to_str().unwrap().to_string())
            .collect();
        files.sort();
        files
    };
    let merge = |files: &[String]| {
        let mut args = vec!["merge", "--out", out, "--format", "csv"];
        args.extend(files.iter().map(String::as_str));
        run_ok(&args)
    };
    let (first, _) = merge(&files());
    assert_eq!(files().len(), 3);
    let (second, stderr) = merge(&files());
    assert_eq!(first, second);
    assert!(stderr.contains("skipping"), "{stderr}");
    // A result of another run among the shards is still refused.
    let other = tmp.path().join("other");
    run_ok(&with(
        &NOISE_CORR_BASE,
        &[
            "--out",
            path_str(&other),
            "--epochs-per-level",
            "2",
            "--seeds",
            "1",
            "--name",
            "x",
        ],
    ));
    let mut args = files();
    args.push(other.join("x.json").to_str().unwrap().to_string());
    let mut full = vec!["merge", "--out", out];
    full.extend(args.iter().map(String::as_str));
    expect_error(&full, &["is a result file", "not a shard file"]);
}

/// "Shard 1/3 belongs to a different configuration" did not say what differs: it now names
/// the field and both values.
#[test]
fn shards_of_different_configurations_name_the_field_that_differs() {
    let tmp = TempDir::new().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let (s0, _) = run_ok(&with(
        &NOISE_CORR,
        &["--out", path_str(&a), "--shard", "0/2"],
    ));
    let (s1, _) = run_ok(&with(
        &NOISE_CORR,
        &[
            "--out",
            path_str(&b),
            "--shard",
            "1/2",
            "--noise-variance",
            "2",
        ],
    ));
    expect_error(
        &["merge", s0.trim(), s1.trim(), "--out", path_str(tmp.path())],
        &[
            "different configuration",
            "`run.config.data.noise_variance`",
            "2.0",
            "1.0",
        ],
    );
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
        let short = peff()
            .args([
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
            ])
            .output()
            .unwrap();
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

/// Interrupting noise-corr lost every finished seed run, and the first Ctrl-C was silent.
/// `--checkpoint FILE` saves the finished runs on SIGINT, the stop is announced at once, and
/// the rerun resumes to the table of an uninterrupted run, byte for byte.
#[test]
fn noise_corr_checkpoint_resumes_to_the_identical_table() {
    let tmp = TempDir::new().unwrap();
    let longer = [
        "--epochs-per-level",
        "150",
        "--seeds",
        "6",
        "--format",
        "csv",
    ];
    let reference_out = tmp.path().join("reference");
    let (reference, _) = run_ok(&with(
        &with(&NOISE_CORR_BASE, &longer),
        &["--out", path_str(&reference_out)],
    ));
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let out = dir.join("out");
        let checkpoint = dir.join("run.ckpt");
        let full = with(
            &with(&NOISE_CORR_BASE, &longer),
            &[
                "--out",
                path_str(&out),
                "--checkpoint",
                path_str(&checkpoint),
                "--checkpoint-interval",
                "0",
            ],
        );
        let Some(output) = common::interrupt_once_written(&full, &checkpoint) else {
            continue;
        };
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("stopping after"), "{stderr}");
        assert!(stderr.contains("checkpoint"), "{stderr}");
        assert!(!out.join("noise-corr-prunes2.csv").exists());
        let (resumed, _) = run_ok(&full);
        assert_eq!(resumed, reference);
        // A checkpoint of another configuration is refused, naming the field.
        let mut other = full.clone();
        other.extend(["--noise-variance", "2", "--name", "other"]);
        expect_error(
            &other,
            &[
                "`--checkpoint`",
                "different configuration",
                "noise_variance",
            ],
        );
        return;
    }
    panic!("no attempt was stopped by SIGINT");
}

/// Flags accepted and ignored: `noise-corr --sweep lr --lr 5` recorded the `--lr` it ignored;
/// `plot scaling --k 9,9` drew two identical panels. Both are refused.
#[test]
fn ignored_flags_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    expect_error(
        &["noise-corr", "--sweep", "lr", "--lr", "5", "--out", out],
        &["`--lr`", "`--values`"],
    );
    expect_error(
        &[
            "plot",
            "scaling",
            "results/scaling-n.csv",
            "--k",
            "9,9",
            "--out",
            &format!("{out}/s.svg"),
        ],
        &["`--k`", "9", "twice"],
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// `noise-corr --n 10000000 --mc 10000000 --d 4096` aborted on allocation (exit 134); it is
/// refused before any work with one line naming the flags, the size and the limit.
#[test]
fn noise_corr_sizes_beyond_memory_are_refused_before_allocation() {
    let tmp = TempDir::new().unwrap();
    expect_error(
        &[
            "noise-corr",
            "--n",
            "10000000",
            "--mc",
            "10000000",
            "--d",
            "4096",
            "--out",
            path_str(tmp.path()),
        ],
        &[
            "`--n`, `--mc`, `--d`",
            "GiB of memory",
            "more than this machine's",
        ],
    );
}

/// Huge numbers were printed with 301 digits (`--lr 1e-300`); every message now writes them
/// compactly.
#[test]
fn huge_numbers_in_messages_are_compact() {
    let tmp = TempDir::new().unwrap();
    let line = expect_error(
        &[
            "noise-corr",
            "--lr",
            "1e-300",
            "--out",
            path_str(tmp.path()),
        ],
        &["`--lr`", "1e-300"],
    );
    assert!(line.len() < 200, "{line}");
    assert_eq!(
        peff::cli::errors::compact_numbers("got 0.000000000000000000000000000001."),
        "got 1e-30."
    );
    assert_eq!(
        peff::cli::errors::compact_numbers(
            "sha abc1234567890123456789012345678 and /a/1234567890123456789012345678"
        ),
        "sha abc1234567890123456789012345678 and /a/1234567890123456789012345678"
    );
}

fn noise_corr_table(dir: &Path, name: &str, rows: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let header = "sweep,value,level,density,epoch,corr_mean,corr_se,train_loss_mean,seeds";
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    path
}

/// `plot` accepted tables mixing sweep kinds, duplicated or reversed epochs and drew wrong
/// titles; such tables are refused, naming the line.
#[test]
fn plots_refuse_inconsistent_tables() {
    let tmp = TempDir::new().unwrap();
    let svg = tmp.path().join("f.svg");
    let svg = path_str(&svg);
    for (rows, phrase) in [
        (
            vec![
                "lr,0.001,0,1.0,1,0.1,0.01,0.5,3",
                "grad-noise,0.0,0,1.0,2,0.1,0.01,0.5,3",
            ],
            "a table holds one run",
        ),
        (
            vec![
                "lr,0.001,0,1.0,1,0.1,0.01,0.5,3",
                "lr,0.001,0,1.0,1,0.1,0.01,0.5,3",
            ],
            "count up by one",
        ),
        (
            vec![
                "lr,0.001,0,1.0,2,0.1,0.01,0.5,3",
                "lr,0.001,0,1.0,1,0.1,0.01,0.5,3",
            ],
            "starts at epoch 2",
        ),
        (
            vec![
                "lr,0.001,0,1.0,1,0.1,0.01,0.5,3",
                "lr,0.01,0,1.0,1,0.1,0.01,0.5,3",
                "lr,0.001,0,1.0,2,0.1,0.01,0.5,3",
            ],
            "appears twice",
        ),
    ] {
        let path = noise_corr_table(tmp.path(), "t.csv", &rows);
        expect_error(
            &["plot", "noise-corr", path_str(&path), "--out", svg],
            &["line", phrase],
        );
    }
}

/// A diverged curve set the y-axis to ±10^18 and flattened the others: curves whose seeds
/// diverged are left out (noted on stderr and in the figure), and the axis fits the rest. One
/// seed's empty standard error draws no band.
#[test]
fn a_diverged_curve_does_not_set_the_axis() {
    let tmp = TempDir::new().unwrap();
    let path = noise_corr_table(
        tmp.path(),
        "d.csv",
        &[
            "lr,0.001,0,1.0,1,0.1,,0.5,1",
            "lr,0.001,0,1.0,2,0.2,,0.4,1",
            "lr,0.5,0,1.0,1,0.1,,0.5,1",
            "lr,0.5,0,1.0,2,4e18,,1e30,1",
            "lr,0.5,0,1.0,3,,,,0",
        ],
    );
    let svg = tmp.path().join("d.svg");
    let (_, stderr) = run_ok(&[
        "plot",
        "noise-corr",
        path_str(&path),
        "--out",
        path_str(&svg),
    ]);
    assert!(
        stderr.contains("left out") && stderr.contains("learning rate 0.5"),
        "{stderr}"
    );
    assert!(
        stderr.contains("read ") && stderr.contains("wrote "),
        "{stderr}"
    );
    let text = read(&svg);
    assert!(text.contains("left out"), "no note in the figure");
    assert!(
        !text.contains("e18") && !text.contains("000000000"),
        "the axis reaches 1e18"
    );
}

/// `--data` naming a file, a missing path or a dangling link said "has no train-images…" (and,
/// for CIFAR-10, "has no data_batch_1.bin"). Each now says what the path is, in one line.
#[test]
fn data_that_is_not_a_directory_says_what_it_is() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let gone = tmp.path().join("gone");
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink(&gone, &dangling).unwrap();
    let to_file = tmp.path().join("to-file");
    std::os::unix::fs::symlink(&file, &to_file).unwrap();
    let out = tmp.path().join("out");
    let dangling_phrase = format!("is a dangling link to '{}'", gone.display());
    let to_file_phrase = format!("is a link to '{}', a file, not a directory", file.display());
    let cases = [
        (file.clone(), "is a file, not a directory"),
        (tmp.path().join("nowhere"), "does not exist"),
        (dangling, dangling_phrase.as_str()),
        (to_file, to_file_phrase.as_str()),
    ];
    for (dir, phrase) in &cases {
        for dataset in [["--dataset", "fashion-mnist"], ["--dataset", "cifar10"]] {
            let mut args = vec!["memorize", dataset[0], dataset[1]];
            if dataset[1] == "cifar10" {
                args.extend(["--arch", "conv"]);
            }
            args.extend(["--data", path_str(dir), "--out", path_str(&out)]);
            let line = expect_error(&args, &["`--data`", phrase]);
            assert!(!line.contains("has no"), "{line}");
        }
    }
    assert!(!out.exists());
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
        let (_, stderr) = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
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

/// Sets `rows[row][key]` of the JSON result `json` to `value` (the file stays valid JSON).
fn edit_row(json: &Path, row: usize, key: &str, value: serde_json::Value) {
    let mut v: serde_json::Value = serde_json::from_str(&read(json)).unwrap();
    assert!(v["rows"][row].get(key).is_some(), "no {key} in row {row}");
    v["rows"][row][key] = value;
    std::fs::write(json, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// A tiny `peff scaling` grid (d = 2, n = 1..2, two k).
fn scaling_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    with(
        &[
            "scaling",
            "--n",
            "1..2",
            "--input-dim",
            "2",
            "--steps",
            "30",
            "--k",
            "12,6",
            "--threads=1",
            "--out",
            out,
        ],
        extra,
    )
}

/// A tiny `peff stochastic` study (n = 2, one batch size, two noise variances, S = 2, 4).
fn stochastic_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    with(
        &[
            "stochastic",
            "--n",
            "2",
            "--input-dim",
            "2",
            "--steps",
            "30",
            "--k",
            "12,6",
            "--batch-size",
            "1",
            "--grad-noise",
            "0,0.01",
            "--train-seeds",
            "2,4",
            "--bootstrap",
            "10",
            "--threads=1",
            "--out",
            out,
        ],
        extra,
    )
}

/// `peff verify` of a scaling result said "not a peff exact/sample JSON result: missing field
/// `experiment`". It now reruns the grid and checks every row and the CSV; a result whose
/// rows were edited is refused with one line naming the first differing row.
#[test]
fn verify_reruns_a_scaling_result() {
    let tmp = TempDir::new().unwrap();
    run_ok(&scaling_args(path_str(tmp.path()), &["--name", "sc"]));
    let json = tmp.path().join("sc.json");
    let rows = serde_json::from_str::<serde_json::Value>(&read(&json)).unwrap()["rows"]
        .as_array()
        .unwrap()
        .len();
    let (stdout, _) = run_ok(&["verify", path_str(&json), "--threads", "2"]);
    assert!(
        stdout.contains(&format!(
            "verified: '{}' reproduces its {rows} rows",
            path_str(&json)
        )),
        "{stdout}"
    );
    assert!(stdout.contains("sc.csv"), "{stdout}");
    let original = read(&json);
    edit_row(&json, 4, "data_entropy_bits", serde_json::json!(0.5));
    expect_error(
        &["verify", path_str(&json)],
        &["verification failed", "sc.json", "row 5"],
    );
    // A CSV edited together with the SHA-256 its JSON records: the rows match, the CSV not.
    std::fs::write(&json, &original).unwrap();
    let csv = tmp.path().join("sc.csv");
    let edited = read(&csv).replacen(",magnitude,", ",Magnitude,", 1);
    std::fs::write(&csv, &edited).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    use sha2::Digest;
    v["csv_sha256"] = format!("{:x}", sha2::Sha256::digest(edited.as_bytes())).into();
    std::fs::write(&json, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    expect_error(
        &["verify", path_str(&json)],
        &[
            "verification failed",
            "sc.csv",
            "differs from the rerun's table",
        ],
    );
    // A recorded grid that lost a point is refused before any work.
    std::fs::remove_file(&csv).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["run"]["config"]["points"].as_array_mut().unwrap().pop();
    std::fs::write(&json, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    expect_error(
        &["verify", path_str(&json)],
        &["recorded configuration", "the grid has 2 points"],
    );
}

/// `peff verify` of a noise-corr result (IMP and a sweep) reruns every seed and checks every
/// row; an edited row is refused with one line naming it.
#[test]
fn verify_reruns_noise_corr_results() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    run_ok(&with(&NOISE_CORR, &["--out", out, "--name", "imp"]));
    let sweep = [
        "noise-corr",
        "--d",
        "3",
        "--teacher-hidden",
        "4",
        "--student-hidden",
        "6,5",
        "--n",
        "20",
        "--mc",
        "50",
        "--seeds",
        "2",
        "--sweep",
        "lr",
        "--values",
        "1e-3,0.03",
        "--epochs",
        "4",
        "--threads=1",
        "--out",
        out,
        "--name",
        "lr",
    ];
    run_ok(&sweep);
    for (name, rows) in [("imp", 9), ("lr", 8)] {
        let json = tmp.path().join(format!("{name}.json"));
        let (stdout, _) = run_ok(&["verify", path_str(&json)]);
        assert!(
            stdout.contains(&format!("reproduces its {rows} rows and")),
            "{stdout}"
        );
    }
    let json = tmp.path().join("imp.json");
    let original = read(&json);
    edit_row(&json, 3, "density", serde_json::json!(0.25));
    expect_error(
        &["verify", path_str(&json)],
        &["verification failed", "imp.json", "row 4"],
    );
    // The recorded configuration is checked as the command checks its flags, before any work.
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["run"]["config"]["data"]["n"] = serde_json::json!(1_000_000_000u64);
    std::fs::write(&json, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    expect_error(
        &["verify", path_str(&json)],
        &["recorded configuration", "`--n` must be in"],
    );
}

/// `peff verify` of a stochastic result reruns every setting and checks every row; an edited
/// row is refused with one line naming it.
#[test]
fn verify_reruns_a_stochastic_result() {
    let tmp = TempDir::new().unwrap();
    run_ok(&stochastic_args(path_str(tmp.path()), &["--name", "st"]));
    let json = tmp.path().join("st.json");
    let (stdout, _) = run_ok(&["verify", path_str(&json)]);
    assert!(
        stdout.contains("reproduces its") && stdout.contains("st.csv"),
        "{stdout}"
    );
    let original = read(&json);
    edit_row(&json, 6, "distinct", serde_json::json!(99));
    expect_error(
        &["verify", path_str(&json)],
        &["verification failed", "st.json", "row 7"],
    );
    // The recorded study is checked before any work.
    for (key, value, phrase) in [
        (
            "bootstrap",
            serde_json::json!(1),
            "bootstrap must be 0 or in [2, 100000]",
        ),
        (
            "train_seeds",
            serde_json::json!([4, 2]),
            "train_seeds must be ascending",
        ),
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
        v["run"]["config"][key] = value;
        std::fs::write(&json, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        expect_error(
            &["verify", path_str(&json)],
            &["recorded configuration", phrase],
        );
    }
}

/// A shard file or checkpoint given to `peff verify` is refused with one line saying what it
/// is; the result `peff merge` makes of the shards verifies. A result whose run record names a
/// shard is refused too.
#[test]
fn verify_refuses_shards_and_checkpoints_and_accepts_merged_results() {
    let tmp = TempDir::new().unwrap();
    let dir = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let (shards, merged) = (dir("shards"), dir("merged"));
    for kind in ["scaling", "noise-corr"] {
        let mut files = Vec::new();
        for i in 0..2 {
            let shard = format!("{i}/2");
            let args = match kind {
                "scaling" => scaling_args(&shards, &["--shard", &shard]),
                _ => with(&NOISE_CORR, &["--out", &shards, "--shard", &shard]),
            };
            files.push(run_ok(&args).0.trim().to_string());
        }
        expect_error(
            &["verify", &files[1]],
            &[
                "is a shard file of `peff",
                kind,
                "not a result",
                "peff merge",
            ],
        );
        let out = format!("{merged}/{kind}");
        let merge = with(
            &["merge", "--out", &out, "--name", "m"],
            &[&files[0], &files[1]],
        );
        run_ok(&merge);
        let (stdout, _) = run_ok(&["verify", &format!("{out}/m.json")]);
        assert!(stdout.contains("reproduces its"), "{stdout}");
    }
    let out = dir("stochastic");
    let checkpoint = format!("{out}/st.ckpt");
    run_ok(&stochastic_args(&out, &["--checkpoint", &checkpoint]));
    expect_error(
        &["verify", &checkpoint],
        &["is a checkpoint of `peff stochastic`", "not a result"],
    );
    let json = tmp
        .path()
        .join("stochastic")
        .join("stochastic-regression.json");
    let mut v: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    v["run"]["shard"] = serde_json::json!({"index": 0, "count": 2});
    let edited = tmp.path().join("shard-of-stochastic.json");
    std::fs::write(&edited, serde_json::to_string(&v).unwrap()).unwrap();
    expect_error(
        &["verify", path_str(&edited)],
        &["records shard 0/2", "not a whole run"],
    );
}

/// A result `peff verify` cannot rerun (`peff converge`'s), and a JSON file that records no
/// run, are refused with one line saying what the file is and what verify accepts.
#[test]
fn verify_says_what_it_accepts() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    run_ok(&[
        "converge",
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "30",
        "--methods",
        "magnitude",
        "--out",
        out,
    ]);
    let accepts = "exact, sample, memorize, scaling, noise-corr or stochastic";
    expect_error(
        &["verify", path_str(&tmp.path().join("convergence.json"))],
        &["a result of `peff converge`", accepts],
    );
    let other = tmp.path().join("other.json");
    std::fs::write(&other, "{\"rows\": []}").unwrap();
    expect_error(
        &["verify", path_str(&other)],
        &["other.json", "is not a peff JSON result", accepts],
    );
}
