//! `peff scaling`: the grid's table, its bounds, and its refusals.

mod common;

use std::process::Command;

use common::peff;

#[test]
fn scaling_table_has_every_grid_point_within_its_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = peff(&[
        "scaling", "--n", "1..3", "--steps", "50", "--k", "16,9", "--out", out, "--name", "s",
        "--format", "csv",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut reader = csv::Reader::from_path(tmp.path().join("s.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header.join(","),
        "input_dim,n,task,method,k,sparsity,entropy_bits,mi_bits,ceiling_bits,p_eff,distinct_masks,diverged,tie_mass,data_entropy_bits"
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut ns = std::collections::BTreeSet::new();
    for record in reader.records() {
        let r = record.unwrap();
        let num = |name: &str| r[col(name)].parse::<f64>().unwrap();
        ns.insert(r[col("n")].to_string());
        // A single uniform point of V = 16 has H(D) = 4 bits.
        if &r[col("n")] == "1" {
            assert!((num("data_entropy_bits") - 4.0).abs() < 1e-12);
        }
        let bound = num("data_entropy_bits").min(num("ceiling_bits"));
        assert!(num("mi_bits") <= bound + 1e-9, "{r:?}");
    }
    assert_eq!(ns.into_iter().collect::<Vec<_>>(), ["1", "2", "3"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("s.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["command"], "scaling");
    assert_eq!(json["run"]["config"]["points"].as_array().unwrap().len(), 3);
}

#[test]
fn scaling_refuses_bad_ranges_and_oversized_grids_before_any_work() {
    for (args, phrase) in [
        (vec!["--n", "10..1"], "`--n`"),
        (vec!["--n", "1..100"], "`--n`"),
        (vec!["--input-dim", "x"], "`--input-dim`"),
        (
            vec!["--n", "1..10", "--max-datasets", "1000"],
            "with N ≥ 5312",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut all = vec!["scaling", "--out", tmp.path().to_str().unwrap()];
        all.extend(args.iter());
        let run = peff(&all);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success());
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(phrase), "{args:?}: {stderr}");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "wrote files"
        );
    }
}

/// Issue 20: `peff scaling` had no `--shard`; shard i/N of a scaling run is shard i/N of every
/// grid point, and `peff merge` of the shards gives the unsharded table byte for byte.
#[test]
fn scaling_shards_merge_into_the_unsharded_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let grid = [
        "scaling", "--n", "1..3", "--steps", "50", "--k", "16,9", "--format", "csv",
    ];
    let whole = peff(&[&grid[..], &["--out", &dir("whole")]].concat());
    assert!(
        whole.status.success(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    let mut files = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let run = peff(&[&grid[..], &["--out", &dir("shards"), "--shard", &shard]].concat());
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        files.push(String::from_utf8(run.stdout).unwrap().trim().to_string());
    }
    let mut merge = vec!["merge", "--format", "csv"];
    merge.extend(files.iter().rev().map(String::as_str));
    let merged_out = dir("merged");
    merge.extend(["--out", &merged_out]);
    let merged = peff(&merge);
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert_eq!(merged.stdout, whole.stdout);
    let name = "scaling-regression-d3-n1-3.csv";
    assert_eq!(
        std::fs::read(tmp.path().join("merged").join(name)).unwrap(),
        std::fs::read(tmp.path().join("whole").join(name)).unwrap()
    );
}

/// Issue 20: interrupting `peff scaling` lost every finished grid point. With `--checkpoint`
/// a SIGTERM saves the points done (and the current one's progress), and the rerun resumes to
/// the uninterrupted table, byte for byte.
#[test]
fn scaling_checkpoint_resumes_to_the_identical_table() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let grid = [
        "scaling",
        "--n",
        "1..5",
        "--steps",
        "600",
        "--methods",
        "magnitude,snip",
        "--k",
        "9",
        "--threads",
        "1",
        "--format",
        "csv",
    ];
    let reference_out = tmp.path().join("reference");
    let reference = peff(&[&grid[..], &["--out", reference_out.to_str().unwrap()]].concat());
    assert!(reference.status.success());
    for attempt in 0..3 {
        let out = tmp.path().join(format!("out{attempt}"));
        let checkpoint = tmp.path().join(format!("run{attempt}.ckpt"));
        let full = [
            &grid[..],
            &[
                "--out",
                out.to_str().unwrap(),
                "--checkpoint",
                checkpoint.to_str().unwrap(),
                "--checkpoint-interval",
                "0",
            ],
        ]
        .concat();
        let mut child = Command::new(env!("CARGO_BIN_EXE_peff"))
            .args(&full)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
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
            continue;
        }
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            continue;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(143), "{stderr}");
        assert!(stderr.contains("stopping after"), "{stderr}");
        let resumed = peff(&full);
        assert!(
            resumed.status.success(),
            "{}",
            String::from_utf8_lossy(&resumed.stderr)
        );
        assert_eq!(resumed.stdout, reference.stdout);
        return;
    }
    panic!("no attempt was stopped by SIGTERM");
}

/// The grid of the checkpoint tests (about a second of work in release mode).
const GRID: [&str; 13] = [
    "scaling",
    "--n",
    "1..5",
    "--steps",
    "600",
    "--methods",
    "magnitude,snip",
    "--k",
    "9",
    "--threads",
    "1",
    "--format",
    "csv",
];

/// Issue 28: a resumed scaling run says so on stderr, and its `wall_seconds` covers the
/// earlier parts (the time its checkpoint records).
#[test]
fn resumed_scaling_run_says_so_and_counts_the_earlier_time() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = tmp.path().join("run.ckpt");
    let full = [
        &GRID[..],
        &[
            "--out",
            tmp.path().to_str().unwrap(),
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
    ]
    .concat();
    assert!(peff(&full).status.success());
    common::set_checkpoint_wall_seconds(&checkpoint, 1000.0);
    let resumed = peff(&full);
    assert!(resumed.status.success());
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        err.contains(&format!(
            "resuming from checkpoint '{}': 5 of 5 grid points finished",
            checkpoint.display()
        )),
        "{err}"
    );
    let json = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json") && p != &checkpoint)
        .unwrap();
    let wall = common::result_wall_seconds(&json);
    assert!(wall >= 1000.0, "wall_seconds {wall}");
}

/// Issue 28: a checkpoint save that fails while the grid runs (its directory replaced, as a
/// full disk fails it) is warned about, and the run still writes its table, the same as an
/// uninterrupted run's.
#[test]
fn failed_checkpoint_save_still_writes_the_scaling_table() {
    let tmp = tempfile::tempdir().unwrap();
    let reference_out = tmp.path().join("reference");
    let reference = peff(&[&GRID[..], &["--out", reference_out.to_str().unwrap()]].concat());
    assert!(reference.status.success());
    for attempt in 0..3 {
        let out = tmp.path().join(format!("out{attempt}"));
        let checkpoint = tmp.path().join(format!("ckpt{attempt}/run.ckpt"));
        std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
        let full = [
            &GRID[..],
            &[
                "--out",
                out.to_str().unwrap(),
                "--checkpoint",
                checkpoint.to_str().unwrap(),
                "--checkpoint-interval",
                "0",
            ],
        ]
        .concat();
        let Some(output) = common::break_checkpoint_dir_once_written(&full, &checkpoint) else {
            continue;
        };
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{err}");
        assert!(err.contains("warning: saving the checkpoint"), "{err}");
        assert_eq!(output.stdout, reference.stdout);
        return;
    }
    panic!("every attempt finished before the checkpoint directory was replaced");
}
