//! Golden (snapshot) tests: the full stdout of small `peff` runs, compared byte for byte with
//! the committed fixtures in `tests/golden/*.csv`, so that any change in any number shows up in
//! review as a diff of those files.
//!
//! After an intended change of results (a fixed bug, a new column), regenerate the fixtures and
//! review the diff before committing:
//!
//! ```text
//! PEFF_BLESS=1 cargo test --release --test golden
//! ```
//!
//! With `PEFF_BLESS=1` each test rewrites its fixture instead of comparing. Results do not
//! depend on the thread count or the CPU (integer tallies; `mul_add` is exactly rounded
//! everywhere), so the fixtures hold on any machine.

use std::path::PathBuf;

use assert_cmd::Command;
use tempfile::TempDir;

/// Runs `peff args… --out <temp>` and compares its stdout with `tests/golden/<fixture>` (or
/// rewrites the fixture when `PEFF_BLESS=1`). On a mismatch, reports the first differing line.
fn check_golden(fixture: &str, args: &[&str]) {
    let tmp = TempDir::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(args)
        .arg("--out")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "peff {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let actual = String::from_utf8(output.stdout).unwrap();
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "golden", fixture]
        .iter()
        .collect();
    if std::env::var_os("PEFF_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with PEFF_BLESS=1 cargo test --release --test golden",
            path.display()
        )
    });
    if actual != expected {
        let (line, want, got) = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (want, got))| want != got)
            .map(|(i, (want, got))| (i + 1, want, got))
            .unwrap_or((
                expected.lines().count().min(actual.lines().count()) + 1,
                "(end of fixture or different line endings)",
                "(end of output or different line endings)",
            ));
        panic!(
            "`peff {}` no longer matches {} at line {line}:\n  fixture: {want}\n  output:  {got}\n\
             If the change is intended, run PEFF_BLESS=1 cargo test --release --test golden \
             and review the diff.",
            args.join(" "),
            path.display()
        );
    }
}

/// Every method and every k of the regression preset at d = 2 (p = 17) over all 120 multisets
/// of n = 3 points; pins entropies, distinct-mask counts, tie masses and IMP's schedule.
#[test]
fn exact_regression() {
    check_golden(
        "exact-regression.csv",
        &[
            "exact",
            "--n",
            "3",
            "--steps",
            "100",
            "--input-dim",
            "2",
            "--threads",
            "1",
            "--format",
            "csv",
        ],
    );
}

/// The classification preset (cross-entropy, two outputs, GraSP temperature 200) at d = 2
/// (p = 14), every method and k; pins the cross-entropy backward pass and Hessian-vector
/// product through their masks.
#[test]
fn exact_classification() {
    check_golden(
        "exact-classification.csv",
        &[
            "exact",
            "--task",
            "classification",
            "--n",
            "3",
            "--steps",
            "100",
            "--input-dim",
            "2",
            "--threads",
            "1",
            "--format",
            "csv",
        ],
    );
}

/// `peff sample` with 300 datasets at three k: pins the per-dataset streams, random pruning's
/// streams, every estimator and its seeded bootstrap interval.
#[test]
fn sample_regression() {
    check_golden(
        "sample-regression.csv",
        &[
            "sample",
            "--n",
            "3",
            "--steps",
            "100",
            "--input-dim",
            "2",
            "--samples",
            "300",
            "--k",
            "3,8,13",
            "--threads",
            "1",
            "--format",
            "csv",
        ],
    );
}

/// `--inits 2`: per-init rows, then mean rows with standard errors (SPEC §4, §8); pins the
/// seeds each init uses and the mean/standard-error arithmetic.
#[test]
fn exact_two_inits() {
    check_golden(
        "exact-inits.csv",
        &[
            "exact",
            "--n",
            "2",
            "--steps",
            "50",
            "--input-dim",
            "2",
            "--methods",
            "magnitude,snip",
            "--k",
            "3,8",
            "--inits",
            "2",
            "--threads",
            "1",
            "--format",
            "csv",
        ],
    );
}

/// `peff memorize --seeds 3` (the Figure 1(a) default: Gaussian data, 30-100-100-2, full-batch
/// GD, every method and density); pins the MLP core, its trainer and the six pruning methods on
/// it through the memorisation experiment.
#[test]
fn memorize_gaussian_three_seeds() {
    check_golden(
        "memorize-gaussian.csv",
        &[
            "memorize",
            "--seeds",
            "3",
            "--threads",
            "2",
            "--format",
            "csv",
        ],
    );
}

/// `peff noise-corr --seeds 1 --prunes 2 --mc 1000`: pins the student–teacher task, Adam, IMP
/// with rewinding and the correlation proxy, epoch by epoch.
#[test]
fn noise_corr_one_seed() {
    check_golden(
        "noise-corr.csv",
        &[
            "noise-corr",
            "--seeds",
            "1",
            "--prunes",
            "2",
            "--mc",
            "1000",
            "--threads",
            "1",
            "--format",
            "csv",
        ],
    );
}
