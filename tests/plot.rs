//! `peff plot`: what a figure reads is validated (tables of the wrong command, values out of
//! range, repeated or inconsistent rows, a non-SVG `--out`), an all-diverged table is said to
//! be that, and a diverged curve is left out rather than setting the axis. Each experiment's
//! own figure is tested in its file (`memorize.rs`, `stochastic.rs`, …).

mod common;

use std::path::Path;

use common::{expect_error, path_str, read, run_ok, run_ok_with_stderr, toy};
use tempfile::TempDir;

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
    let (_, stderr) = run_ok_with_stderr(&[
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
