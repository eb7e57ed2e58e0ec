//! `peff stochastic`: full batch without noise is `peff exact`; thread-count independence;
//! convergence in the number of seeds on a tiny case; refusals of bad input before any work;
//! `peff entropy` on summary counts; `--checkpoint` resumes an interrupted study.

mod common;

use common::{peff, read, records};

fn ok(run: &std::process::Output) {
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// With `B = n` and `σ² = 0` every seed trains the same network: `H(m | D, init) = 0` and
/// `H(m | init) = I(m; D | init)` are `peff exact`'s values to the last digit, per method and k.
#[test]
fn full_batch_without_noise_equals_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let common = ["--n", "3", "--steps", "150", "--k", "16,12", "--out", out];
    let mut exact = vec!["exact", "--name", "e", "--format", "csv"];
    exact.extend(common);
    ok(&peff(&exact));
    let mut stoch = vec![
        "stochastic",
        "--name",
        "s",
        "--format",
        "csv",
        "--batch-size",
        "3",
        "--grad-noise",
        "0",
        "--train-seeds",
        "5",
    ];
    stoch.extend(common);
    ok(&peff(&stoch));
    let exact = records(&read(&tmp.path().join("e.csv")));
    let stoch = records(&read(&tmp.path().join("s.csv")));
    let mut compared = 0;
    for e in &exact {
        let matching: Vec<_> = stoch
            .iter()
            .filter(|s| s["method"] == e["method"] && s["k"] == e["k"] && s["summary"] == "mask")
            .collect();
        // One row per sweep: batch-size (B = 3) and grad-noise (σ² = 0).
        assert_eq!(matching.len(), 2, "{e:?}");
        for s in matching {
            assert_eq!(s["h_bits"], e["entropy_bits"], "{e:?} {s:?}");
            assert_eq!(s["mi_bits"], e["mi_bits"], "{e:?} {s:?}");
            if e["method"] != "random" {
                assert_eq!(s["h_cond_bits"], "0.0");
                assert_eq!(s["mi_ci_low_bits"], e["mi_bits"]);
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 2 * exact.len());
    assert!(tmp.path().join("s.svg").exists());
}

/// Minibatches and noise draw from per-(dataset, seed) streams: one thread and two give the
/// same bytes.
#[test]
fn stochastic_table_does_not_depend_on_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = |threads: &str, name: &str| {
        ok(&peff(&[
            "stochastic",
            "--n",
            "2",
            "--steps",
            "100",
            "--k",
            "12",
            "--methods",
            "magnitude,imp",
            "--batch-size",
            "1",
            "--grad-noise",
            "0.01",
            "--train-seeds",
            "6",
            "--threads",
            threads,
            "--out",
            out,
            "--name",
            name,
            "--format",
            "csv",
        ]));
        std::fs::read(tmp.path().join(format!("{name}.csv"))).unwrap()
    };
    assert_eq!(run("1", "a"), run("2", "b"));
}

/// Runs that diverge are counted in `diverged` and announced on stderr, as memorize and
/// noise-corr announce theirs.
#[test]
fn diverged_runs_are_announced() {
    let tmp = tempfile::tempdir().unwrap();
    let run = peff(&[
        "stochastic",
        "--n",
        "2",
        "--steps",
        "50",
        "--k",
        "12",
        "--methods",
        "magnitude",
        "--batch-size",
        "2",
        "--grad-noise",
        "1e10",
        "--train-seeds",
        "4",
        "--format",
        "csv",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let diverged: u64 = records(&read(&tmp.path().join("stochastic-regression.csv")))
        .iter()
        .filter(|r| r["summary"] == "mask" && r["grad_noise"] != "0.0")
        .map(|r| r["diverged"].parse::<u64>().unwrap())
        .sum();
    assert!(diverged > 0, "σ² = 1e10 diverges");
    assert!(
        stderr.contains(&format!("{diverged} of 544 training runs diverged")),
        "{stderr}"
    );
}

/// On a tiny case (n = 2, B = 1: only the order of the two points varies) the per-dataset pmfs
/// are nearly saturated at S = 512, and the estimates at S = 8, 64 approach that value: the
/// error at 64 seeds is small and below the error at 8.
#[test]
fn estimates_converge_in_the_number_of_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    ok(&peff(&[
        "stochastic",
        "--n",
        "2",
        "--steps",
        "200",
        "--k",
        "12",
        "--methods",
        "magnitude",
        "--batch-size",
        "1",
        "--grad-noise",
        "0.001",
        "--grid",
        "product",
        "--train-seeds",
        "8,64,512",
        "--summaries",
        "mask",
        "--bootstrap",
        "0",
        "--out",
        out,
        "--name",
        "c",
        "--format",
        "csv",
    ]));
    let table = records(&read(&tmp.path().join("c.csv")));
    let mi = |s: &str| -> f64 {
        table
            .iter()
            .find(|r| r["train_seeds"] == s && r["method"] == "magnitude")
            .unwrap()["mi_bits"]
            .parse()
            .unwrap()
    };
    let (m8, m64, m512) = (mi("8"), mi("64"), mi("512"));
    assert!((m64 - m512).abs() < (m8 - m512).abs(), "{m8} {m64} {m512}");
    assert!((m64 - m512).abs() < 0.1, "{m8} {m64} {m512}");
}

/// Bad flags are refused before any work, in one line naming the flag and its limit.
#[test]
fn stochastic_refuses_bad_input_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    for (args, phrase) in [
        (vec!["--batch-size", "0"], "`--batch-size` must be in [1, n = 6], got 0"),
        (vec!["--batch-size", "7"], "`--batch-size` must be in [1, n = 6], got 7"),
        (vec!["--batch-size", "x"], "`--batch-size`: not an integer"),
        (vec!["--train-seeds", "0"], "`--train-seeds` must be in [1, 1000000], got 0"),
        (vec!["--grad-noise", "-0.1"], "`--grad-noise` must be a finite variance ≥ 0"),
        (vec!["--grad-noise", "nan"], "`--grad-noise` must be a finite variance ≥ 0"),
        (vec!["--grad-noise", "inf"], "`--grad-noise` must be a finite variance ≥ 0"),
        (vec!["--bootstrap", "1"], "`--bootstrap` must be 0"),
        (vec!["--summaries", "weights"], "unknown summary"),
        (
            vec!["--train-seeds", "100", "--max-runs", "1000000"],
            "54264 datasets × S = 100 seeds = 5426400 training runs, more than `--max-runs` 1000000",
        ),
        (
            vec!["--max-datasets", "1000"],
            "54264 datasets (multisets), more than `--max-datasets` 1000",
        ),
        (vec!["--shard", "0/2"], "`--shard` is not used by `peff stochastic`"),
    ] {
        let mut full = vec!["stochastic", "--out", out];
        full.extend(&args);
        let run = peff(&full);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(phrase), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// `peff entropy` reads summary counts like any counts: `mask,count` lines whose labels are a
/// summary's counts joined by spaces.
#[test]
fn entropy_accepts_summary_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("layer.csv");
    std::fs::write(&path, "mask,count\n9 3,20\n8 4,12\n10 2,4\n").unwrap();
    let run = peff(&["entropy", path.to_str().unwrap(), "--format", "csv"]);
    ok(&run);
    assert!(String::from_utf8_lossy(&run.stdout).contains("plugin"));
}

/// `--checkpoint FILE` keeps the finished settings when SIGINT stops a study, and rerunning the
/// same command resumes to the uninterrupted study's bytes; another study's checkpoint is
/// refused, naming the field that differs.
#[test]
fn stochastic_checkpoint_resumes_to_the_identical_table() {
    let tmp = tempfile::tempdir().unwrap();
    let args = small_study;
    let reference_dir = tmp.path().join("reference");
    let reference = args(reference_dir.to_str().unwrap(), &[]);
    ok(&peff(
        &reference.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let expected = std::fs::read(reference_dir.join("stochastic-regression.csv")).unwrap();
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let checkpoint = dir.join("run.ckpt");
        std::fs::create_dir_all(&dir).unwrap();
        let extra = [
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--checkpoint-interval",
            "0",
        ];
        let run = args(dir.join("out").to_str().unwrap(), &extra);
        let run: Vec<&str> = run.iter().map(String::as_str).collect();
        let Some(stopped) = common::interrupt_once_written(&run, &checkpoint) else {
            continue;
        };
        let stderr = String::from_utf8_lossy(&stopped.stderr);
        assert_eq!(stopped.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains("rerun the same command to resume"),
            "{stderr}"
        );
        assert!(!dir.join("out/stochastic-regression.csv").exists());
        ok(&peff(&run));
        let resumed = std::fs::read(dir.join("out/stochastic-regression.csv")).unwrap();
        assert!(resumed == expected, "the resumed table differs");
        let mut other = run.clone();
        let at = other.iter().position(|a| *a == "0.01,0.1").unwrap();
        other[at] = "0.01,0.2";
        let other_out = dir.join("other");
        let at = other.iter().position(|a| *a == "--out").unwrap() + 1;
        other[at] = other_out.to_str().unwrap();
        let refused = peff(&other);
        assert!(!refused.status.success());
        let text = String::from_utf8_lossy(&refused.stderr);
        assert!(
            text.contains("different configuration") && text.contains("grad_noise"),
            "{text}"
        );
        return;
    }
    panic!("every attempt finished before the signal");
}

/// The flags of a small study for the tests below (about a second of work in release mode).
fn small_study(out: &str, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "stochastic",
        "--n",
        "2",
        "--steps",
        "200",
        "--k",
        "12",
        "--methods",
        "magnitude",
        "--batch-size",
        "1,2",
        "--grad-noise",
        "0.01,0.1",
        "--grid",
        "product",
        "--train-seeds",
        "8,60",
        "--threads",
        "1",
        "--format",
        "csv",
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Issue 28: `peff stochastic` replaced an existing `<name>.svg` without `--force`, and a forced
/// rerun with nothing to draw left the previous run's figure beside the new table. A figure
/// without its JSON is now refused before any work (as a CSV is), and a run without a figure
/// removes the earlier one with its result files.
#[test]
fn stochastic_figure_is_guarded_like_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let svg = tmp.path().join("s.svg");
    std::fs::write(&svg, "<svg>mine</svg>").unwrap();
    let base = [
        "stochastic",
        "--name",
        "s",
        "--n",
        "2",
        "--steps",
        "20",
        "--k",
        "12",
        "--batch-size",
        "2",
        "--grad-noise",
        "0",
        "--train-seeds",
        "2",
        "--out",
        out,
    ];
    let refused = peff(&[&base[..], &["--methods", "magnitude"]].concat());
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("s.svg") && err.contains("without its JSON") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&svg).unwrap(), "<svg>mine</svg>");
    // A run with a figure replaces it with `--force`, and writes it with the table.
    ok(&peff(
        &[&base[..], &["--methods", "magnitude", "--force"]].concat(),
    ));
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("magnitude k=12"));
    // A forced rerun with nothing to draw (random only) leaves no earlier figure behind.
    let run = peff(&[&base[..], &["--methods", "random", "--force"]].concat());
    ok(&run);
    assert!(tmp.path().join("s.csv").exists());
    assert!(!svg.exists(), "the previous run's figure is still there");
    assert!(String::from_utf8_lossy(&run.stderr).contains("no figure"));
}

/// Issue 28: `peff plot stochastic` draws a `peff stochastic` CSV as the command draws it
/// (the same SVG, byte for byte), and refuses a table of another command in one line.
#[test]
fn plot_stochastic_draws_what_stochastic_draws() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    ok(&peff(&[
        "stochastic",
        "--n",
        "2",
        "--steps",
        "20",
        "--k",
        "12",
        "--methods",
        "magnitude,snip",
        "--batch-size",
        "1,2",
        "--train-seeds",
        "2",
        "--out",
        out,
    ]));
    let csv = tmp.path().join("stochastic-regression.csv");
    let drawn = tmp.path().join("again.svg");
    ok(&peff(&[
        "plot",
        "stochastic",
        csv.to_str().unwrap(),
        "--out",
        drawn.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read(&drawn).unwrap(),
        std::fs::read(tmp.path().join("stochastic-regression.svg")).unwrap()
    );
    let other = tmp.path().join("other.csv");
    std::fs::write(&other, "a,b\n1,2\n").unwrap();
    let refused = peff(&["plot", "stochastic", other.to_str().unwrap()]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("not a `peff stochastic` table"), "{err}");
}

/// Issue 28: a table whose every drawn row diverged is said to be that (by `peff stochastic`
/// and by `peff plot stochastic`), not an empty input.
#[test]
fn all_diverged_stochastic_table_is_called_that() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = peff(&[
        "stochastic",
        "--n",
        "2",
        "--steps",
        "200",
        "--lr",
        "1e30",
        "--k",
        "12",
        "--methods",
        "magnitude",
        "--batch-size",
        "2",
        "--grad-noise",
        "0",
        "--grid",
        "product",
        "--train-seeds",
        "2",
        "--out",
        out,
    ]);
    ok(&run);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("no figure: every training run diverged"),
        "{err}"
    );
    let csv = tmp.path().join("stochastic-regression.csv");
    let plotted = peff(&["plot", "stochastic", csv.to_str().unwrap()]);
    assert!(!plotted.status.success());
    let err = String::from_utf8_lossy(&plotted.stderr);
    assert!(
        err.contains("every training run diverged") && !err.contains("empty"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Issue 28: `peff stochastic --help` listed `--shard`, `--inits` and `--dump-init`, which it
/// then refuses; they are hidden from its help (and still refused in one line).
#[test]
fn stochastic_help_lists_no_refused_flag() {
    let help = peff(&["stochastic", "--help"]);
    ok(&help);
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--shard", "--inits", "--dump-init"] {
        assert!(!text.contains(flag), "{flag} in:\n{text}");
    }
    assert!(text.contains("--checkpoint") && text.contains("--max-datasets"));
    assert!(!text.contains("(exact, converge"), "{text}");
    let refused = peff(&["stochastic", "--inits", "2"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("`--inits` is not used by `peff stochastic`"));
}

/// Issue 28: a resumed study says so on stderr, and its `wall_seconds` covers the earlier
/// parts (the time its checkpoint records).
#[test]
fn resumed_stochastic_study_says_so_and_counts_the_earlier_time() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = tmp.path().join("run.ckpt");
    let run = small_study(
        tmp.path().join("out").to_str().unwrap(),
        &["--checkpoint", checkpoint.to_str().unwrap()],
    );
    ok(&peff(&run));
    common::set_checkpoint_wall_seconds(&checkpoint, 1000.0);
    let resumed = peff(&run);
    ok(&resumed);
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        err.contains(&format!(
            "resuming from checkpoint '{}': 4 of 4 settings finished",
            checkpoint.display()
        )),
        "{err}"
    );
    let wall = common::result_wall_seconds(&tmp.path().join("out/stochastic-regression.json"));
    assert!(wall >= 1000.0, "wall_seconds {wall}");
}

/// Issue 28: a checkpoint save that fails while the study runs (its directory replaced, as a
/// full disk fails it) is warned about, and the study still writes its table, the same as an
/// uninterrupted run's: finished work is not thrown away.
#[test]
fn failed_checkpoint_save_still_writes_the_stochastic_table() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    ok(&peff(&small_study(reference.to_str().unwrap(), &[])));
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let checkpoint = dir.join("ckpt/run.ckpt");
        std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
        let run = small_study(
            dir.join("out").to_str().unwrap(),
            &[
                "--checkpoint",
                checkpoint.to_str().unwrap(),
                "--checkpoint-interval",
                "0",
            ],
        );
        let run: Vec<&str> = run.iter().map(String::as_str).collect();
        let Some(output) = common::break_checkpoint_dir_once_written(&run, &checkpoint) else {
            continue;
        };
        ok(&output);
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains("warning: saving the checkpoint"), "{err}");
        assert_eq!(
            std::fs::read(dir.join("out/stochastic-regression.csv")).unwrap(),
            std::fs::read(reference.join("stochastic-regression.csv")).unwrap()
        );
        return;
    }
    panic!("every attempt finished before the checkpoint directory was replaced");
}

/// Issue 28: `peff stochastic` had no memory check (every run of a setting is held until its
/// rows are estimated); a study whose runs do not fit under `ulimit -v` is refused before any
/// work, naming the estimate, the address-space limit and the flags to lower.
#[test]
fn studies_beyond_ulimit_v_are_refused_before_any_work() {
    let tmp = tempfile::TempDir::new().unwrap();
    let out = tmp.path().join("out");
    // 136 datasets × 20,000 seeds = 2.7 million runs: over 1 GiB.
    let line = common::one_line_error_under_ulimit_v(
        600_000,
        &[],
        &[
            "stochastic",
            "--n",
            "2",
            "--train-seeds",
            "20000",
            "--max-runs",
            "1000000000",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(line.contains("this run needs about"), "{line}");
    assert!(line.contains("training runs per setting"), "{line}");
    assert!(line.contains("address-space limit (ulimit -v"), "{line}");
    assert!(line.contains("`--train-seeds`"), "{line}");
    assert!(!out.exists());
}
