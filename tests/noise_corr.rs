//! `peff noise-corr` (SPEC §7 "Correlation with noise", §8): the recorded correlation equals a
//! direct recomputation from the network, a level's first row after a prune is one epoch from
//! the rewound, pruned init, results do not depend on threads or shards, sweeps give one curve
//! per value, a diverging run is counted and left out, and every bad flag is one line.
//!
//! Everything runs on tiny configurations (d = 3, students of width ≤ 6, n ≤ 20, M ≤ 50, a
//! few epochs), well under a second each in release mode.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

static NO_STOP: AtomicBool = AtomicBool::new(false);

use assert_cmd::Command;
use common::{expect_error, path_str, peff_command, read, run_ok, with, NOISE_CORR_BASE};
use peff::data::teacher::TeacherSpec;
use peff::experiments::noise_corr::{
    correlation, run_curve, run_seeds, train_seed, NoiseCorrConfig, Rewind, Schedule, IMP_RATE,
};
use peff::model::mlp::Mlp;
use peff::model::{Dataset, Model, Optimizer, Targets, TrainConfig, Trainer};
use peff::prune::Imp;
use serde_json::Value;
use tempfile::TempDir;

fn config(prunes: usize, epochs: usize, rewind: Rewind) -> NoiseCorrConfig {
    NoiseCorrConfig {
        data: TeacherSpec {
            d: 3,
            teacher_hidden: vec![4],
            n: 20,
            mc: 50,
            noise_variance: 1.0,
        },
        student_hidden: vec![6, 5],
        lr: 1e-2,
        batch_size: None,
        seed: 7,
        seeds: 3,
        schedule: Schedule::Imp {
            prunes,
            epochs_per_level: epochs,
            rewind,
        },
        sparse_below: peff::model::sparse::SparseBelow::MEASURED,
    }
}

/// A naive `f64` forward pass of `mlp` at `params` on one input.
fn naive(mlp: &Mlp, params: &[f32], x: &[f32]) -> f64 {
    let mut a: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let last = mlp.layers().len() - 1;
    for (l, layer) in mlp.layers().iter().enumerate() {
        a = (0..layer.outputs)
            .map(|j| {
                let w = &params[layer.weights.start + j * layer.inputs..];
                let z = params[layer.bias.start + j] as f64
                    + (0..layer.inputs).map(|t| w[t] as f64 * a[t]).sum::<f64>();
                if l < last {
                    z.max(0.0)
                } else {
                    z
                }
            })
            .collect();
    }
    a[0]
}

/// `C = (1/n) Σ (f(x_i) − E_μ f) z_i` straight from the definition.
fn direct_c(mlp: &Mlp, params: &[f32], x: &[f32], z: &[f64], mc: &[f32]) -> f64 {
    let d = mlp.input_dim();
    let e_mu = mc.chunks(d).map(|x| naive(mlp, params, x)).sum::<f64>() / (mc.len() / d) as f64;
    x.chunks(d)
        .zip(z)
        .map(|(x, z)| (naive(mlp, params, x) - e_mu) * z)
        .sum::<f64>()
        / z.len() as f64
}

/// Replays seed `seed` of `config` by hand (one prune at most): returns C and the training
/// loss `(1/n) Σ ½ (f(x_i) − y_i)²` after every epoch.
fn replay(config: &NoiseCorrConfig, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let (prunes, epochs, rewind) = match config.schedule {
        Schedule::Imp {
            prunes,
            epochs_per_level,
            rewind,
        } => (prunes, epochs_per_level, rewind),
        _ => unreachable!(),
    };
    let data = config.data.generate(seed).unwrap();
    let mlp = config.student().unwrap();
    let cv = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let (x, mc) = (cv(&data.x), cv(&data.mc));
    let train = Dataset::new(&mlp, x.clone(), Targets::Values(cv(&data.y))).unwrap();
    let init = cv(&mlp.init_params(seed));
    let tc = TrainConfig {
        optimizer: Optimizer::adam(config.lr),
        batch_size: None,
        grad_noise_variance: 0.0,
        seed: train_seed(seed),
        sparse_below: config.sparse_below,
    };
    let mut t = Trainer::<_, f32>::new(&mlp, tc, train.len());
    t.reset(&init, None);
    let mut cs = Vec::new();
    let mut losses = Vec::new();
    let y32 = cv(&data.y);
    let mut kept = mlp.weight_indices();
    let ks = config.kept_counts().unwrap();
    for (level, &k) in ks.iter().enumerate().take(prunes + 1) {
        if level > 0 {
            let trained: Vec<f64> = t.params().iter().map(|&w| w as f64).collect();
            kept = Imp::level_cut(&trained, &kept, k).mask.kept().collect();
            assert_eq!(kept.len(), k);
            let mask: Vec<bool> = (0..mlp.num_params())
                .map(|i| !mlp.is_weight(i) || kept.contains(&i))
                .collect();
            let start = match rewind {
                Rewind::Init => init.clone(),
                Rewind::None => t.params().to_vec(),
            };
            t.reset(&start, Some(&mask));
            // Rewinding: kept parameters are back at their start, pruned ones are 0.
            for (i, (&p, &s)) in t.params().iter().zip(&start).enumerate() {
                assert_eq!(p.to_bits(), if mask[i] { s } else { 0.0 }.to_bits());
            }
        }
        for _ in 0..epochs {
            t.epoch(&train);
            cs.push(direct_c(&mlp, t.params(), &x, &data.z, &mc));
            let d = mlp.input_dim();
            let loss = x
                .chunks(d)
                .zip(&y32)
                .map(|(x, &y)| 0.5 * (naive(&mlp, t.params(), x) - y as f64).powi(2))
                .sum::<f64>()
                / y32.len() as f64;
            losses.push(loss);
        }
    }
    (cs, losses)
}

/// Issue 20: `train_loss_mean` was the mean over the epoch's batches at the parameters before
/// each step, while `corr_mean` was taken after the epoch: one row described two networks.
/// Both now describe the network after the epoch.
#[test]
fn train_loss_and_c_describe_the_same_network() {
    let config = config(1, 4, Rewind::Init);
    let (curve, _) = run_curve(&config, 7, 0, &NO_STOP).unwrap();
    let (_, losses) = replay(&config, 7);
    assert_eq!(curve.loss.len(), losses.len());
    for (e, (got, want)) in curve.loss.iter().zip(&losses).enumerate() {
        assert!(
            (got - want).abs() < 1e-5 * (1.0 + want.abs()),
            "epoch {}: loss {got} vs the loss after the epoch {want}",
            e + 1
        );
    }
}

#[test]
fn c_equals_a_direct_recomputation_through_a_prune() {
    for rewind in [Rewind::Init, Rewind::None] {
        let config = config(1, 4, rewind);
        let (curve, _) = run_curve(&config, 7, 0, &NO_STOP).unwrap();
        assert_eq!(curve.corr.len(), 8);
        assert!(curve.diverged_at.is_none());
        let (expected, _) = replay(&config, 7);
        for (e, (got, want)) in curve.corr.iter().zip(&expected).enumerate() {
            assert!(
                (got - want).abs() < 1e-5 * (1.0 + want.abs()),
                "{rewind:?} epoch {}: {got} vs {want}",
                e + 1
            );
        }
        // The level's first row after the prune (epoch 5) starts from the pruned network.
        assert!(curve.corr[4] != curve.corr[3]);
    }
    // Rewinding matters.
    let a = run_curve(&config(1, 4, Rewind::Init), 7, 0, &NO_STOP)
        .unwrap()
        .0;
    let b = run_curve(&config(1, 4, Rewind::None), 7, 0, &NO_STOP)
        .unwrap()
        .0;
    assert_eq!(a.corr[..4], b.corr[..4]);
    assert_ne!(a.corr[4..], b.corr[4..]);
}

#[test]
fn correlation_matches_its_definition() {
    let f = [1.0f32, -2.0, 0.5];
    let z = [0.3, -1.0, 2.0];
    let mc = [0.25f32, 0.75];
    let e = 0.5;
    let want = ((1.0 - e) * 0.3 + (2.0 + e) + (0.5 - e) * 2.0) / 3.0;
    assert!((correlation(&f, &z, &mc) - want).abs() < 1e-12);
}

#[test]
fn kept_counts_follow_imp_and_prunes_are_bounded() {
    let config = config(3, 1, Rewind::Init);
    let w = config.weights().unwrap();
    assert_eq!(w, 3 * 6 + 6 * 5 + 5);
    let ks = config.kept_counts().unwrap();
    assert_eq!(ks[0], w);
    assert_eq!(ks[1..], Imp { rate: IMP_RATE }.schedule(w, 1)[..3]);
    assert_eq!(ks[1], w - (w as f64 * 0.2).ceil() as usize);
    assert_eq!(*Imp { rate: 0.2 }.schedule(w, 1).last().unwrap(), 1);
    assert_eq!(
        NoiseCorrConfig::max_prunes(w),
        Imp { rate: 0.2 }.schedule(w, 1).len()
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let config = config(1, 3, Rewind::Init);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run_seeds(&config, 0..3, &NO_STOP, &|| {}).unwrap().0)
    };
    assert_eq!(run(1), run(3));
}

// ---- the command line ----

const TINY: [&str; 16] = [
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
    "3",
    "--seed",
    "7",
    "--lr",
    "1e-2",
];

/// `TINY` for a run with `extra`: without its `--lr` when `extra` sweeps the learning rate
/// (`--sweep lr` refuses a fixed `--lr`).
fn tiny_for(extra: &[&str]) -> Vec<&'static str> {
    let sweeps_lr = extra.windows(2).any(|w| w == ["--sweep", "lr"]);
    let mut args = TINY.to_vec();
    if sweeps_lr {
        args.truncate(args.len() - 2);
    }
    args
}

fn run_tiny(out: &Path, extra: &[&str]) -> String {
    let o = peff_command()
        .arg("noise-corr")
        .args(tiny_for(extra))
        .args(["--out", out.to_str().unwrap(), "--format", "csv"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{extra:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn cli_rows_threads_and_shards() {
    let dir = TempDir::new().unwrap();
    let imp = ["--prunes", "2", "--epochs-per-level", "3"];
    let one = run_tiny(dir.path(), &[&imp[..], &["--threads", "1"]].concat());
    let csv = read(&dir.path().join("noise-corr-prunes2.csv"));
    assert_eq!(one, csv);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "level,density,epoch,corr_mean,corr_se,train_loss_mean,seeds"
    );
    assert_eq!(lines.len(), 1 + 9);
    assert!(lines[1].starts_with("0,1.0,1,") && lines[1].ends_with(",3"));
    assert!(lines[4].starts_with("1,0.7"), "{}", lines[4]);
    let two = run_tiny(
        dir.path(),
        &[&imp[..], &["--threads", "2", "--name", "t2"]].concat(),
    );
    assert_eq!(one, two);
    let json: Value = serde_json::from_str(&read(&dir.path().join("t2.json"))).unwrap();
    assert_eq!(json["run"]["command"], "noise-corr");
    assert_eq!(json["run"]["config"]["seeds"], 3);
    assert_eq!(json["rows"].as_array().unwrap().len(), 9);
    // Shards merge into the same table, byte for byte.
    let shards = dir.path().join("shards");
    let mut files = Vec::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let o = run_tiny(&shards, &[&imp[..], &["--shard", &shard]].concat());
        files.push(o.trim().to_string());
    }
    files.reverse();
    let merged = dir.path().join("merged");
    let o = peff_command()
        .arg("merge")
        .args(&files)
        .args(["--out", merged.to_str().unwrap(), "--format", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&merged.join("noise-corr-prunes2.csv")), csv);
    // A missing shard is refused.
    let o = peff_command()
        .arg("merge")
        .arg(&files[0])
        .args(["--out", merged.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing shards"));
}

#[test]
fn cli_sweeps_and_divergence() {
    let dir = TempDir::new().unwrap();
    let csv = run_tiny(
        dir.path(),
        &["--sweep", "lr", "--values", "1e-3,1e-2", "--epochs", "4"],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "sweep,value,level,density,epoch,corr_mean,corr_se,train_loss_mean,seeds"
    );
    assert_eq!(lines.len(), 1 + 8);
    assert!(lines[1].starts_with("lr,0.001,0,1.0,1,"));
    assert!(lines[8].starts_with("lr,0.01,0,1.0,4,"));
    assert!(dir.path().join("noise-corr-lr.json").exists());
    // Gradient noise: variance 0 is the plain run.
    let gn = run_tiny(
        dir.path(),
        &["--sweep", "grad-noise", "--values", "0,1", "--epochs", "3"],
    );
    let plain = run_tiny(
        dir.path(),
        &[
            "--sweep", "lr", "--values", "1e-2", "--epochs", "3", "--name", "p",
        ],
    );
    let strip = |l: &str| l.splitn(3, ',').nth(2).unwrap().to_string();
    let gn0: Vec<String> = gn.lines().skip(1).take(3).map(strip).collect();
    let p: Vec<String> = plain.lines().skip(1).map(strip).collect();
    assert_eq!(gn0, p);
    assert_ne!(
        gn.lines().nth(4).map(strip),
        plain.lines().nth(1).map(strip)
    );
    // A huge learning rate diverges: counted, never averaged in, no NaN in the table.
    let o = peff_command()
        .arg("noise-corr")
        .args(tiny_for(&["--sweep", "lr"]))
        .args(["--out", dir.path().to_str().unwrap(), "--format", "csv"])
        .args([
            "--sweep", "lr", "--values", "1e-2,1e6", "--epochs", "30", "--name", "div",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("diverged"));
    let csv = read(&dir.path().join("div.csv"));
    assert!(!csv.to_lowercase().contains("nan") && !csv.contains("inf"));
    let json: Value = serde_json::from_str(&read(&dir.path().join("div.json"))).unwrap();
    let div = &json["summary"]["diverged"];
    assert_eq!(div[0]["diverged_seeds"], 0);
    let diverged = div[1]["diverged_seeds"].as_u64().unwrap();
    assert!(diverged >= 1, "{div}");
    assert_eq!(div[1]["at"].as_array().unwrap().len() as u64, diverged);
    let last = csv.lines().last().unwrap();
    assert!(last.ends_with(&format!(",{}", 3 - diverged)), "{last}");
}

#[test]
fn cli_bad_flags_are_one_line_errors() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--prunes", "1000"], "`--prunes` must be in [0, 13]"),
        (&["--prunes", "-1"], "--prunes"),
        (&["--mc", "0"], "--mc"),
        (&["--mc", "-5"], "--mc"),
        (&["--batch-size", "21"], "--batch-size"),
        (&["--batch-size", "0"], "--batch-size"),
        (&["--sweep", "lr", "--values", ""], "--values"),
        (&["--sweep", "lr", "--values", "1e-3,abc"], "--values"),
        (&["--sweep", "lr", "--values", "0"], "--values"),
        (&["--sweep", "grad-noise", "--values", "-1"], "--values"),
        (&["--sweep", "lr", "--values", "1,1"], "--values"),
        (&["--sweep", "lr", "--values", "1,1.0"], "--values"),
        (&["--sweep", "lr", "--values", "1,,2"], "--values"),
        (&["--values", "1e-3"], "--values"),
        (&["--sweep", "momentum"], "--sweep"),
        (&["--sweep", "lr", "--prunes", "3"], "--prunes"),
        (&["--sweep", "lr", "--epochs", "0"], "--epochs"),
        (&["--epochs", "5"], "--epochs"),
        (&["--rewind", "late"], "--rewind"),
        (&["--epochs-per-level", "0"], "--epochs-per-level"),
        (&["--lr", "nan"], "--lr"),
        (&["--lr", "-1"], "--lr"),
        (&["--noise-variance", "0"], "--noise-variance"),
        (&["--seeds", "0"], "--seeds"),
        (&["--n", "0"], "--n"),
        (&["--d", "0"], "--d"),
        (&["--student-hidden", "5,0"], "--student-hidden"),
        (&["--teacher-hidden", ""], "--teacher-hidden"),
        (&["--threads", "-2"], "--threads"),
        (&["--shard", "2/2"], "--shard"),
        (&["--name", "a/b"], "--name"),
    ];
    for (extra, phrase) in cases {
        let o = peff_command()
            .arg("noise-corr")
            .args(tiny_for(extra))
            .args(["--out", out])
            .args(*extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{extra:?} succeeded");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(
            !err.contains("panicked") && err.contains(phrase),
            "{extra:?}: {err}"
        );
    }
}

/// A result or shard of another configuration under the same name is not replaced without
/// `--force`; a rerun of the same configuration replaces it.
#[test]
fn results_and_shards_of_another_configuration_are_not_overwritten() {
    let dir = TempDir::new().unwrap();
    let imp = ["--prunes", "1", "--epochs-per-level", "2"];
    run_tiny(dir.path(), &imp);
    run_tiny(dir.path(), &imp);
    let json = dir.path().join("noise-corr-prunes1.json");
    let before = read(&json);
    let refused = |extra: &[&str], what: &str| {
        let o = peff_command()
            .arg("noise-corr")
            .args(tiny_for(extra))
            .args(["--out", dir.path().to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(what), "{stderr}");
    };
    let other = ["--prunes", "1", "--epochs-per-level", "3"];
    refused(&other, "holds a result of another configuration");
    assert_eq!(read(&json), before);
    run_tiny(dir.path(), &[&other[..], &["--force"]].concat());
    assert_ne!(read(&json), before);
    run_tiny(dir.path(), &[&imp[..], &["--shard", "0/3"]].concat());
    refused(
        &[&other[..], &["--shard", "0/3"]].concat(),
        "holds a shard of another configuration",
    );
}

/// A small noise-corr run for the checkpoint tests (100 seed runs, under a second).
fn checkpointed_noise_corr(out: &Path, checkpoint: &Path, interval: Option<&str>) -> Vec<String> {
    let mut args = with(
        &NOISE_CORR_BASE,
        &[
            "--epochs-per-level",
            "150",
            "--seeds",
            "100",
            "--format",
            "csv",
            "--out",
            path_str(out),
            "--checkpoint",
            path_str(checkpoint),
        ],
    );
    if let Some(interval) = interval {
        args.extend(["--checkpoint-interval", interval]);
    }
    args.into_iter().map(String::from).collect()
}

/// Issue 28: a resumed noise-corr run says so on stderr, and its `wall_seconds` covers the
/// earlier parts (the time its checkpoint records).
#[test]
fn resumed_noise_corr_run_says_so_and_counts_the_earlier_time() {
    let tmp = TempDir::new().unwrap();
    let checkpoint = tmp.path().join("run.ckpt");
    let args = checkpointed_noise_corr(tmp.path(), &checkpoint, None);
    let ok = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    common::set_checkpoint_wall_seconds(&checkpoint, 1000.0);
    let resumed = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(&args)
        .output()
        .unwrap();
    assert!(resumed.status.success());
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        err.contains(&format!(
            "resuming from checkpoint '{}': 100 of 100 seed runs finished",
            checkpoint.display()
        )),
        "{err}"
    );
    let wall = common::result_wall_seconds(&tmp.path().join("noise-corr-prunes2.json"));
    assert!(wall >= 1000.0, "wall_seconds {wall}");
}

/// Issue 28: a checkpoint save that failed was kept until the run ended and then returned as
/// the error, throwing every finished seed run away. It is now a warning, and the run still
/// writes its table.
#[test]
fn failed_checkpoint_save_still_writes_the_noise_corr_table() {
    let tmp = TempDir::new().unwrap();
    let reference = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(checkpointed_noise_corr(
            &tmp.path().join("reference"),
            &tmp.path().join("unused.ckpt"),
            None,
        ))
        .output()
        .unwrap();
    assert!(reference.status.success());
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let checkpoint = dir.join("ckpt/run.ckpt");
        std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
        let args = checkpointed_noise_corr(&dir.join("out"), &checkpoint, Some("0"));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let Some(output) = common::break_checkpoint_dir_once_written(&argv, &checkpoint) else {
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

/// Issue 28: the estimate counted activations, not the `Σ width²` weights, so a wide student
/// was accepted under `ulimit -v` and aborted; it is refused before any work, naming the
/// estimate, the address-space limit and the flags to lower.
#[test]
fn wide_students_beyond_ulimit_v_are_refused_before_any_work() {
    let tmp = tempfile::TempDir::new().unwrap();
    let out = tmp.path().join("out");
    // 9.2 million weights: about 1.2 GiB, beyond 586 MiB of address space.
    let line = common::one_line_error_under_ulimit_v(
        600_000,
        &[],
        &[
            "noise-corr",
            "--student-hidden",
            "3000,3000",
            "--seeds",
            "1",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(line.contains("this run needs about"), "{line}");
    assert!(line.contains("weights"), "{line}");
    assert!(line.contains("address-space limit (ulimit -v"), "{line}");
    assert!(line.contains("`--student-hidden`"), "{line}");
    assert!(!out.exists());
}

/// Issue 28: a seed's data that do not fit although the estimate admitted the run (the limit
/// assumed larger than `ulimit -v` allows) are allocated fallibly: one line naming the
/// buffer and the flags, status 1, not an abort.
#[test]
fn data_beyond_ulimit_v_are_an_error_not_an_abort() {
    let tmp = tempfile::TempDir::new().unwrap();
    let out = tmp.path().join("out");
    // 200,000 inputs of dimension 1,000: 1.6 GB in f64.
    let line = common::one_line_error_under_ulimit_v(
        600_000,
        &[("PEFF_MEMORY_LIMIT", "1T")],
        &[
            "noise-corr",
            "--n",
            "200000",
            "--d",
            "1000",
            "--student-hidden",
            "4",
            "--seeds",
            "1",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        line.contains("out of memory: the training inputs of a seed"),
        "{line}"
    );
    assert!(line.contains("address-space limit"), "{line}");
    assert!(line.contains("`--n`"), "{line}");
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
    let reference = run_ok(&with(
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
        let resumed = run_ok(&full);
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
