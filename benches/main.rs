//! Criterion benches of peff's hot paths, one module per topic:
//!
//! - `train`: the lockstep toy trainer ([`ToyBatch`]), one full-batch step and a full run of
//!   `T = 2000` steps, for the regression (`d=3, h=4, o=1`) and classification (`d=3, h=3, o=2`)
//!   presets at `n = 6`, swept over lanes `L ∈ {1, 4, 8, 16}`. Throughput is in network-steps
//!   (`L × steps` per iteration). The one-step figures include a run's fixed costs (buffers,
//!   the final loss evaluation and divergence check), so they bound the per-run overhead.
//!   `sgd-T2000`: the same run of the regression preset trained stochastically, minibatches of
//!   `B = 1` and `B = 3` points and full batch with gradient noise `σ² = 0.01` (`peff bench`'s
//!   `sgd_b1`, `sgd_b3` and `noisy` workloads), at `L ∈ {8, 16}`.
//! - `prune`: each pruning method on one batch of [`LANES`] datasets, every `k` from 1 to
//!   `p − 1` (IMP: its schedule), side by side in one group on the same inputs. The batch is
//!   rebuilt outside the timing for every iteration, so magnitude pruning and IMP each pay for
//!   the dense training run that the engine shares between them.
//!
//! - `mlp`: one full-batch gradient-descent step (forward, backward, update) of the general MLP
//!   core in `f32`, on the Fig. 1a network `30-w-w-2` at `n = 30` for `w ∈ {50, 100, 200}`
//!   ([`peff::bench::mlp::setup`]). Throughput is in network-steps.
//!
//! Inputs use constant seeds (init seed 0, dataset stream seed 0) and are built outside the timed
//! closures; ids carry the parameters, e.g. `train-T2000/regression-n6-L8`.
//! Run with `cargo bench`, or e.g. `cargo bench -- prune` for one topic.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use peff::data::DataSpace;
use peff::model::toy::lanes::{Stochastic, ToyBatch, TrainParams};
use peff::model::toy::{Loss, ToyShape};

/// The presets of SPEC §2 with their names.
const PRESETS: [(&str, ToyShape); 2] = [
    (
        "regression",
        ToyShape {
            input_dim: 3,
            hidden: 4,
            outputs: 1,
            loss: Loss::Mse,
        },
    ),
    (
        "classification",
        ToyShape {
            input_dim: 3,
            hidden: 3,
            outputs: 2,
            loss: Loss::CrossEntropy,
        },
    ),
];
/// Points per dataset (the default `n`).
const N: usize = 6;
/// Steps of a full training run (the default `T`).
const T: usize = 2000;
/// Learning rate (the default `η`).
const LR: f64 = 0.1;

/// `count` canonical datasets of `n` points from the sample stream with seed 0, keyed `0..count`.
fn datasets(shape: &ToyShape, count: usize) -> (DataSpace, Vec<(u64, Vec<u32>)>) {
    let space = DataSpace {
        input_dim: shape.input_dim,
        n: N,
    };
    let sets = (0..count as u64)
        .map(|key| (key, space.sample(0, key)))
        .collect();
    (space, sets)
}

/// A batch of `L` networks from init seed 0, one sampled dataset per lane.
fn batch<const L: usize>(shape: ToyShape, steps: usize) -> ToyBatch<L> {
    let (space, sets) = datasets(&shape, L);
    let train = TrainParams { steps, lr: LR };
    ToyBatch::<L>::new(shape, space, train, &shape.init_params(0), &sets)
}

mod train {
    use criterion::{black_box, BenchmarkGroup, BenchmarkId, Throughput};
    use peff::model::Networks;

    use super::*;

    type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

    /// Times `train` with the dense mask on `nets` (`L` lanes, `steps` steps each) as `id`.
    fn time_training<const L: usize>(
        group: &mut Group<'_>,
        id: BenchmarkId,
        nets: &ToyBatch<L>,
        steps: usize,
    ) {
        let p = nets.num_params();
        let mask = vec![1.0; p * L];
        let mut params = vec![0.0; p * L];
        let mut diverged = vec![false; L];
        group.throughput(Throughput::Elements((L * steps) as u64));
        group.bench_function(id, |b| {
            b.iter(|| {
                nets.train(black_box(&mask), &mut params, &mut diverged);
                black_box((&params, &diverged));
            })
        });
    }

    /// Full-batch training of both presets on one batch of `L` lanes, `steps` steps.
    fn lanes<const L: usize>(group: &mut Group<'_>, steps: usize) {
        for (name, shape) in PRESETS {
            let id = BenchmarkId::new(name, format!("n{N}-L{L}"));
            time_training(group, id, &batch::<L>(shape, steps), steps);
        }
    }

    /// Stochastic training of the regression preset on one batch of `L` lanes (lane `l` with
    /// training seed `l`), `T` steps: `B = 1`, `B = 3`, and full batch with noise `σ² = 0.01`.
    fn stochastic<const L: usize>(group: &mut Group<'_>) {
        let seeds: Vec<u64> = (0..L as u64).collect();
        for (name, batch_size, grad_noise) in [("b1", 1, 0.0), ("b3", 3, 0.0), ("noisy", N, 0.01)] {
            let settings = Stochastic {
                batch_size,
                grad_noise,
            };
            let nets = batch::<L>(PRESETS[0].1, T).with_stochastic(settings, &seeds);
            time_training(group, BenchmarkId::new(name, format!("L{L}")), &nets, T);
        }
    }

    /// One step and a full run of `T` steps at `L ∈ {1, 4, 8, 16}` (`peff exact` runs 16 lanes
    /// with AVX-512, 8 without), then the stochastic runs at `L ∈ {8, 16}`.
    pub fn benches(c: &mut Criterion) {
        for steps in [1, T] {
            let mut group = c.benchmark_group(format!("train-T{steps}"));
            group
                .sample_size(10)
                .warm_up_time(Duration::from_millis(500));
            group.measurement_time(Duration::from_secs(2));
            lanes::<1>(&mut group, steps);
            lanes::<4>(&mut group, steps);
            lanes::<8>(&mut group, steps);
            lanes::<16>(&mut group, steps);
            group.finish();
        }
        let mut group = c.benchmark_group(format!("sgd-T{T}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        stochastic::<8>(&mut group);
        stochastic::<16>(&mut group);
        group.finish();
    }
}

mod prune {
    use criterion::{black_box, BatchSize, BenchmarkId, Throughput};
    use peff::experiments::toy::LANES;
    use peff::prune::{Method, PruneSettings};

    use super::*;

    /// Every method on the same batch of [`LANES`] datasets, per preset.
    pub fn benches(c: &mut Criterion) {
        for (name, shape) in PRESETS {
            let p = shape.num_params();
            let requested: Vec<usize> = (1..p).rev().collect();
            let settings = PruneSettings {
                random_seed: 0,
                synflow_rounds: 100,
                imp_rate: 0.2,
                grasp_temperature: if shape.loss == Loss::Mse { 1.0 } else { 200.0 },
            };
            let mut group = c.benchmark_group(format!("prune-{name}"));
            group
                .sample_size(10)
                .warm_up_time(Duration::from_millis(500));
            group.measurement_time(Duration::from_secs(2));
            // Datasets pruned per iteration.
            group.throughput(Throughput::Elements(LANES as u64));
            for method in Method::ALL {
                let pruner = method.pruner(&settings);
                let ks = pruner.kept_counts(p, &requested);
                let id =
                    BenchmarkId::new(method.name(), format!("n{N}-T{T}-L{LANES}-k{}", ks.len()));
                group.bench_function(id, |b| {
                    b.iter_batched(
                        || batch::<LANES>(shape, T),
                        |nets| black_box(pruner.prune(&nets, &ks)),
                        BatchSize::SmallInput,
                    )
                });
            }
            group.finish();
        }
    }
}

mod mlp {
    use criterion::{black_box, BenchmarkId, Throughput};
    use peff::bench::mlp::setup;
    use peff::model::Optimizer;

    use super::*;

    /// One `f32` full-batch step of `30-w-w-2` at `n = 30`, `w ∈ {50, 100, 200}`.
    pub fn benches(c: &mut Criterion) {
        let mut group = c.benchmark_group("mlp-step");
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        group.throughput(Throughput::Elements(1));
        for width in [50, 100, 200] {
            let (mut trainer, data) =
                setup::<f32>(&[30, width, width, 2], 30, Optimizer::sgd(1e-2))
                    .expect("valid network");
            let id = BenchmarkId::new("gd-f32", format!("30-{width}-{width}-2-n30"));
            group.bench_function(id, |b| b.iter(|| black_box(trainer.step(data.batch()))));
        }
        group.finish();
    }
}

criterion_group!(benches, train::benches, prune::benches, mlp::benches);
criterion_main!(benches);
