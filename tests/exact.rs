//! Exact enumeration against brute force, the pruning methods' contracts, and determinism;
//! then `peff exact` and `peff sample` end to end (SPEC §8, STYLE 6): the documented CSV and
//! JSON columns, `--dump-init`/`--init`, tables independent of the thread count, diverging
//! training counted rather than fatal (and rows whose every run diverged shown as such),
//! `--max-datasets`, IMP's visited k noted, and a resumed or checkpoint-failing run.
//!
//! Every run uses a tiny configuration (d = 2 or 3, n ≤ 6, ≤ 1000 steps) in a fresh `TempDir`.

mod common;

use std::path::Path;

use common::{
    expect_error, parse_csv, path_str, peff, read, run_ok, run_ok_with_stderr, toy, EXACT_HEADER,
};
use peff::data::{multinomial_weight, DataSpace};
use peff::experiments::toy::report::exact_rows;
use peff::experiments::toy::{enumerate_datasets, sample_datasets, Dataset, ToyExperiment};
use peff::export::to_csv;
use peff::model::toy::lanes::{ToyBatch, TrainParams};
use peff::model::toy::{Loss, ToyShape};
use peff::model::Networks;
use peff::prune::{Method, PruneSettings};
use serde_json::Value;
use tempfile::TempDir;

fn tiny(loss: Loss, d: usize, n: usize, steps: usize) -> ToyExperiment {
    let shape = ToyShape {
        input_dim: d,
        hidden: 3,
        outputs: if loss == Loss::Mse { 1 } else { 2 },
        loss,
    };
    let p = shape.num_params();
    ToyExperiment {
        task: "test".into(),
        shape,
        space: DataSpace { input_dim: d, n },
        train: TrainParams { steps, lr: 0.1 },
        prune: PruneSettings {
            random_seed: 0,
            synflow_rounds: 100,
            imp_rate: 0.2,
            grasp_temperature: if loss == Loss::Mse { 1.0 } else { 200.0 },
        },
        methods: Method::ALL.to_vec(),
        requested_k: (1..p).rev().collect(),
        init: shape.init_params(3),
        init_seed: Some(3),
    }
}

/// Every ordered dataset (all V^n tuples), weight 1, keyed by its rank.
fn all_ordered(space: DataSpace) -> Vec<Dataset> {
    let v = space.num_points() as u64;
    let total = v.pow(space.n as u32);
    (0..total)
        .map(|code| {
            let mut ids: Vec<u32> = (0..space.n)
                .map(|i| (code / v.pow(i as u32) % v) as u32)
                .collect();
            ids.sort_unstable();
            Dataset {
                key: code,
                ids,
                weight: 1,
            }
        })
        .collect()
}

/// The exact entropy from weighted multisets equals the entropy over all V^n ordered datasets
/// (each weight 1), for every method and k; fails if a multinomial weight, the multiset
/// enumeration or canonicalisation were wrong.
#[test]
fn multisets_match_brute_force_over_ordered_datasets() {
    for (loss, d, n) in [
        (Loss::Mse, 1, 3),
        (Loss::Mse, 2, 3),
        (Loss::CrossEntropy, 1, 3),
    ] {
        let exp = tiny(loss, d, n, 200);
        let exact = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
        let brute = exp.tally(all_ordered(exp.space).into_iter(), false, &|_| {});
        for ((e, b), key) in exact.iter().zip(&brute).zip(exp.rows()) {
            if !exp.is_tallied(key.method, false) {
                continue;
            }
            assert_eq!(e.total_weight, b.total_weight);
            assert_eq!(e.sorted(), b.sorted(), "{:?} k={}", key.method, key.k);
            assert!((e.entropy_bits() - b.entropy_bits()).abs() < 1e-12);
        }
    }
}

/// Weights of a brute-force tally are exactly the multinomial coefficients.
#[test]
fn multinomial_weights_count_orderings() {
    assert_eq!(multinomial_weight(&[0, 0, 1]), 3);
    assert_eq!(multinomial_weight(&[0, 1, 2]), 6);
    assert_eq!(multinomial_weight(&[4, 4, 4, 4, 4, 4]), 1);
    assert_eq!(multinomial_weight(&[0, 0, 1, 1, 2, 3]), 180);
}

/// Every mask of every method keeps exactly the requested k (IMP: the k its schedule visits),
/// on random datasets of both presets.
#[test]
fn every_mask_has_the_requested_popcount() {
    for loss in [Loss::Mse, Loss::CrossEntropy] {
        let mut exp = tiny(loss, 3, 6, 100);
        exp.shape.hidden = if loss == Loss::Mse { 4 } else { 3 };
        exp.init = exp.shape.init_params(1);
        let p = exp.num_params();
        let datasets: Vec<(u64, Vec<u32>)> = (0..8).map(|i| (i, exp.space.sample(9, i))).collect();
        let batch = ToyBatch::<8>::new(exp.shape, exp.space, exp.train, &exp.init, &datasets);
        for method in Method::ALL {
            let pruner = method.pruner(&exp.prune);
            let ks = pruner.kept_counts(p, &(1..p).collect::<Vec<_>>());
            for pruned in pruner.prune(&batch, &ks) {
                for cut in pruned.lanes.iter().flatten() {
                    assert_eq!(cut.mask.count(), pruned.k, "{method:?}");
                }
            }
        }
    }
}

/// IMP's reported kept counts on p = 21 are its schedule 16, 12, 9, 7, 5, 4, 3, 2, 1, and each
/// IMP mask is nested in the previous one (a pruned parameter never returns).
#[test]
fn imp_visits_its_schedule_with_nested_masks() {
    let mut exp = tiny(Loss::Mse, 3, 6, 100);
    exp.shape.hidden = 4;
    exp.init = exp.shape.init_params(0);
    let pruner = Method::Imp.pruner(&exp.prune);
    let ks = pruner.kept_counts(21, &(1..21).collect::<Vec<_>>());
    assert_eq!(ks, vec![16, 12, 9, 7, 5, 4, 3, 2, 1]);
    let batch = ToyBatch::<1>::new(
        exp.shape,
        exp.space,
        exp.train,
        &exp.init,
        &[(0, exp.space.sample(0, 0))],
    );
    let pruned = pruner.prune(&batch, &ks);
    for pair in pruned.windows(2) {
        let (outer, inner) = (
            pair[0].lanes[0].as_ref().unwrap(),
            pair[1].lanes[0].as_ref().unwrap(),
        );
        assert!(inner.mask.kept().all(|i| outer.mask.is_kept(i)));
    }
}

/// SynFlow ignores the data: its exact entropy is 0 at every k, with one distinct mask; random
/// pruning reports its closed form log2 C(p, k) and zero MI.
#[test]
fn synflow_entropy_is_exactly_zero_and_random_is_closed_form() {
    let exp = tiny(Loss::Mse, 2, 3, 50);
    let tallies = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
    for row in exact_rows(&exp, &tallies) {
        match row.method.as_str() {
            "synflow" => {
                assert_eq!(row.entropy_bits, Some(0.0));
                assert_eq!(row.distinct_masks, 1);
            }
            "random" => {
                assert_eq!(row.entropy_bits, Some(row.ceiling_bits));
                assert_eq!(row.mi_bits, Some(0.0));
            }
            _ => assert!(row.entropy_bits.unwrap() <= row.ceiling_bits + 1e-12),
        }
    }
}

/// A 2-point example computed by hand (d = 1, h = 1, o = 1, MSE): θ0 = (W1, b1, W2, b2) =
/// (0.5, 0.1, −0.4, 0.2), points (x, y) = (+1, +1) and (−1, −1).
/// Point 1: z = 0.6, f = −0.04, r = −1.04; point 2: z = −0.4 (dead), f = 0.2, r = 1.2.
/// g = (½ r1 W2 x1, ½ r1 W2, ½ r1 z1, ½ (r1 + r2)) = (0.208, 0.208, −0.312, 0.08).
/// SNIP |θ0 ⊙ g| = (0.104, 0.0208, 0.1248, 0.016) → top-2 {W1, W2}.
/// H g = ½ [J1 (J1·g) + r1 ∇²f1 g + J2 (J2·g)], J1 = (−0.4, −0.4, 0.6, 1), J1·g = −0.2736,
/// ∇²f1 g = (g_W2, g_W2, g_W1 + g_b1, 0), J2 = (0, 0, 0, 1):
/// H g = (0.21696, 0.21696, −0.2984, −0.0968); GraSP θ0 ⊙ Hg = (0.10848, 0.021696, 0.11936,
/// −0.01936) → top-2 {W1, W2}, top-3 adds b1, top-1 {W2}.
#[test]
fn snip_and_grasp_match_hand_computation() {
    let shape = ToyShape {
        input_dim: 1,
        hidden: 1,
        outputs: 1,
        loss: Loss::Mse,
    };
    let space = DataSpace { input_dim: 1, n: 2 };
    let init = [0.5, 0.1, -0.4, 0.2];
    let batch = ToyBatch::<1>::new(
        shape,
        space,
        TrainParams { steps: 1, lr: 0.1 },
        &init,
        &[(0, vec![0, 3])],
    );
    let mut g = vec![0.0; 4];
    batch.gradient_at_init(1.0, &mut g);
    for (a, b) in g.iter().zip([0.208, 0.208, -0.312, 0.08]) {
        assert!((a - b).abs() < 1e-12, "{g:?}");
    }
    let mut hg = vec![0.0; 4];
    batch.hvp_at_init(1.0, &g, &mut hg);
    for (a, b) in hg.iter().zip([0.21696, 0.21696, -0.2984, -0.0968]) {
        assert!((a - b).abs() < 1e-12, "{hg:?}");
    }
    let settings = PruneSettings {
        random_seed: 0,
        synflow_rounds: 100,
        imp_rate: 0.2,
        grasp_temperature: 1.0,
    };
    let kept = |method: Method, k: usize| -> Vec<usize> {
        method.pruner(&settings).prune(&batch, &[k])[0].lanes[0]
            .as_ref()
            .unwrap()
            .mask
            .kept()
            .collect()
    };
    assert_eq!(kept(Method::Snip, 2), vec![0, 2]);
    assert_eq!(kept(Method::Snip, 1), vec![2]);
    assert_eq!(kept(Method::Grasp, 2), vec![0, 2]);
    assert_eq!(kept(Method::Grasp, 3), vec![0, 1, 2]);
    assert_eq!(kept(Method::Grasp, 1), vec![2]);
}

/// The CSV of an exact run is byte-identical with 1 and 2 worker threads (integer tallies).
#[test]
fn exact_csv_is_identical_for_any_thread_count() {
    let exp = tiny(Loss::Mse, 2, 4, 100);
    let csv_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let tallies = pool.install(|| exp.tally(enumerate_datasets(exp.space), false, &|_| {}));
        to_csv(&exact_rows(&exp, &tallies)).unwrap()
    };
    assert_eq!(csv_with(1), csv_with(2));
}

/// Sampling agrees with enumeration: with N = 20,000 sampled datasets the plug-in entropy of
/// each deterministic method is within sampling error of the exact value (plug-in bias is at
/// most (m − 1)/(2N ln 2) bits here; the tolerance adds 0.03 bits of noise).
#[test]
fn sampled_plugin_agrees_with_exact() {
    let exp = tiny(Loss::Mse, 2, 3, 100);
    let exact = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
    let n = 20_000;
    let sampled = exp.tally(sample_datasets(exp.space, 1, 0..n), true, &|_| {});
    for ((e, s), key) in exact.iter().zip(&sampled).zip(exp.rows()) {
        if !exp.is_tallied(key.method, false) {
            continue;
        }
        let bias = (s.distinct() as f64 - 1.0) / (2.0 * n as f64 * std::f64::consts::LN_2);
        let diff = e.entropy_bits() - s.entropy_bits();
        assert!(
            diff > -0.03 && diff < bias + 0.03,
            "{:?} k={} exact {} sampled {}",
            key.method,
            key.k,
            e.entropy_bits(),
            s.entropy_bits()
        );
    }
}

// ---- `peff exact` and `peff sample` ----

/// The columns `peff sample` adds (SPEC §8).
const SAMPLE_COLUMNS: &str = "samples,estimator,estimate_bits,ci_low_bits,ci_high_bits";

/// The value of `column` in `record` (a table with header `header`).
fn cell<'a>(header: &str, record: &'a csv::StringRecord, column: &str) -> &'a str {
    let index = header.split(',').position(|c| c == column).unwrap();
    &record[index]
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

/// `--lr 1e300` made every run diverge and the table showed 0 bits and `p_eff = k` with no
/// warning. Rows whose every run diverged now have empty entropy cells (JSON `null`) and a
/// warning on stderr, in `exact` and in `sample`.
#[test]
fn rows_whose_runs_all_diverged_do_not_look_like_results() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let (csv, stderr) = run_ok_with_stderr(&toy(
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
    let (csv, stderr) = run_ok_with_stderr(&toy(
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

/// IMP reports the k its schedule visits; when the user asked for others, stderr says so
/// instead of dropping the requested rows silently.
#[test]
fn imp_rows_other_than_requested_are_noted() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let (_, stderr) = run_ok_with_stderr(&toy(
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

/// Issue 28: GraSP's non-finite scores (a tiny `--grasp-temperature` overflows the
/// Hessian-gradient product) were reported as diverged training ("every training run
/// diverged … lower `--lr`"); they are now reported as GraSP's non-finite scores.
#[test]
fn non_finite_grasp_scores_are_reported_as_such() {
    let tmp = TempDir::new().unwrap();
    let output = peff(&[
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
    ]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("GraSP's scores were not all finite") && err.contains("grasp k=5"),
        "{err}"
    );
    assert!(!err.contains("training run diverged"), "{err}");
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
        let output = peff(&args);
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
