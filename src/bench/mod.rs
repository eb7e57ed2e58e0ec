//! `peff bench` (docs/methods.md §9): throughput of the toy trainer in network-steps per second, and the
//! fraction of the machine's float64 FMA peak it reaches.
//!
//! A **network-step** is one full-batch gradient step of one network on its `n` points. The
//! benchmark trains the default configuration (regression preset `d = 3, h = 4, o = 1`, MSE,
//! `n = 6`, `η = 0.1`) in lockstep batches of [`LANES`] networks, `T = 2000` steps per training
//! run (as `peff exact` does), dense mask, each lane on its own sampled dataset:
//!
//! - **1 thread**: a one-thread rayon pool trains batch after batch for about `--seconds`;
//! - **all threads**: every thread of a `--threads` pool trains its own batches, the same number
//!   of runs per thread (enough for about `--seconds` at the single-thread rate); the rate is the
//!   total work over the wall time from the first start to the last finish.
//!
//! Both follow a short warm-up. Flops are counted by hand from the kernel ([`flops_per_step`]:
//! 537 per network-step for the default) and compared with the assumed peak
//!
//! ```text
//! nominal peak = cores × clock × flops/cycle,  flops/cycle = 2 FMA units × f64 lanes × 2
//!                (lanes from the detected vector width: 8 with AVX-512, 4 with AVX2+FMA)
//! peak = max(nominal peak, FMA probe's measured rate)
//! peak_fraction = network-steps/s × flops_per_step / peak
//! ```
//!
//! where `cores` counts the physical cores the threads can occupy, whose FMA units they share:
//! 1 for the single-thread figure, `min(threads, physical cores)` for all threads (hardware
//! threads of one core add no peak). Physical cores are the distinct `(physical id, core id)`
//! pairs of `/proc/cpuinfo` (`--physical-cores` overrides: a virtual machine may map vCPUs onto
//! hardware threads it does not show). The clock is the largest `cpu MHz` in `/proc/cpuinfo`
//! (`--clock-ghz` overrides), a nominal figure that boost clocks exceed.
//!
//! Because both assumptions can be wrong, the same two measurements are also made of an FMA
//! probe (x86-64 with AVX2 and FMA only): independent chains of FMAs at the widest detected
//! vector width (512-bit with AVX-512, else 256-bit), the best case the formula assumes. Its
//! single-thread rate is the peak actually reachable by one thread (clock boost included), and
//! its scaling to all threads shows whether they share FMA units. When the probe beats the
//! nominal peak (a boost clock above the nominal one), the probe's rate is the peak, so no
//! fraction of the peak exceeds 100 %.
//!
//! `--exact` also times the default `peff exact` run (all six methods, every dataset).
//!
//! The general MLP core is measured too ([`crate::bench::mlp::measure`]): one full-batch
//! gradient-descent step (η = 1e-2) of the Fig. 1a network `30-100-100-2` on `n = 30` points in
//! `f32`, on one thread, against the same GEMMs alone in the same run
//! (`mlp_steps_per_sec_1t`, `mlp_gemm_fraction`; about a fifth of `--seconds`).
//! The noise-correlation student's full-batch step (`f32`, `50-100-100-100-100-1`, `n = 1000`,
//! Adam) is measured on one thread against the same GEMMs alone
//! ([`crate::bench::mlp::measure`]): `student_steps_per_sec_1t`, `student_gemm_fraction`.
//! So is the Figure 1(b) step: one Adam minibatch step of `784-200-200-10` on 64 FashionMNIST-
//! shaped points (cross-entropy, `f32`, one thread): `fmnist_steps_per_sec_1t`,
//! `fmnist_gemm_fraction`. And the Figure 1(c) ConvNet's ([`crate::bench::conv::measure`]): one
//! Adam minibatch step of 64 CIFAR-shaped images (`3 × 32 × 32`) through 3 convolutions of 32
//! channels and the linear layer (`f32`, one thread), `conv_steps_per_sec_1t`, its forward +
//! backward pass against the same GEMMs alone, `conv_gemm_fraction`, and the same on
//! FashionMNIST-shaped images (`conv_fmnist_*`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::data::DataSpace;
use crate::experiments::toy::{enumerate_datasets, ToyExperiment, LANES, NOISY_LANES};
use crate::model::toy::lanes::{Stochastic, ToyBatch, TrainParams};
use crate::model::toy::{Loss, ToyShape};
use crate::model::Networks;
use crate::prune::{Method, PruneSettings};

pub mod conv;
mod cpu;
pub mod mlp;
mod report;
pub mod sparse;
mod timing;

pub use cpu::{detected_flops_per_cycle, vector_bits, AVX2_FLOPS_PER_CYCLE};
use cpu::{fma_probe, physical_cores, CpuInfo};
pub use report::{render, BenchReport};

/// The benchmarked architecture: the default regression preset (docs/methods.md §2).
pub const BENCH_SHAPE: ToyShape = ToyShape {
    input_dim: 3,
    hidden: 4,
    outputs: 1,
    loss: Loss::Mse,
};
/// Points per dataset of the benchmark (the default `n`).
pub const BENCH_N: usize = 6;
/// Gradient steps per training run (the default `T`).
pub const BENCH_STEPS: usize = 2000;
/// Learning rate of the benchmark (the default `η`).
const BENCH_LR: f64 = 0.1;
/// Init seed and dataset seed of the benchmark (any fixed value).
const BENCH_SEED: u64 = 0;
/// Clock assumed when `/proc/cpuinfo` gives none, GHz.
pub const FALLBACK_CLOCK_GHZ: f64 = 2.6;

/// What `peff bench` measures and the peak it assumes (the flags of `peff bench`, of the same
/// names, less `--format`).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Seconds per measurement (single-threaded, then all threads), after a short warm-up.
    pub seconds: f64,
    /// Worker threads of the multi-threaded measurement (0: all logical CPUs).
    pub threads: usize,
    /// Also time the default `peff exact` run (regression, n = 6, T = 2000, all six methods).
    pub exact: bool,
    /// Core clock in GHz for the peak (`None`: the largest `cpu MHz` in /proc/cpuinfo, else 2.6).
    pub clock_ghz: Option<f64>,
    /// Float64 flops per cycle per core (`None`: from the detected vector width, see
    /// [`detected_flops_per_cycle`]).
    pub flops_per_cycle: Option<f64>,
    /// Physical cores, whose FMA units bound the peak (0: detect from /proc/cpuinfo).
    pub physical_cores: usize,
    /// Also measure the pruned networks' step rates by density and the sweep rates
    /// ([`crate::bench::sparse`]; about half the run's time).
    pub sweeps: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            seconds: 3.0,
            threads: 0,
            exact: false,
            clock_ghz: None,
            flops_per_cycle: None,
            physical_cores: 0,
            sweeps: true,
        }
    }
}

/// Weight layers of the benchmarked ConvNet (Fig. 1c: 3 convolutions and the linear layer).
pub const CONV_BENCH_LAYERS: usize = 4;
/// Channels of the benchmarked ConvNet.
pub const CONV_BENCH_CHANNELS: usize = 32;
/// Images per step of the benchmarked ConvNet.
pub const CONV_BENCH_BATCH: usize = 64;

/// Widths of the benchmarked MLP (Fig. 1a).
pub const MLP_BENCH_WIDTHS: [usize; 4] = [30, 100, 100, 2];
/// Points of the benchmarked MLP step.
pub const MLP_BENCH_N: usize = 30;
/// Widths of the noise-correlation student (SPEC §7).
pub const STUDENT_WIDTHS: [usize; 6] = [50, 100, 100, 100, 100, 1];
/// Training points of the noise-correlation student.
pub const STUDENT_N: usize = 1000;
/// Widths of the Figure 1(b) MLP (App. B.1.1: two hidden layers of 200 on FashionMNIST).
pub const FMNIST_WIDTHS: [usize; 4] = [784, 200, 200, 10];
/// Its minibatch (App. B.1.1): one step of the benchmark is one minibatch step.
pub const FMNIST_BATCH: usize = 64;

/// Flops of one network-step (one full-batch gradient step of one network on `n` points), as
/// the kernel of [`crate::model::toy::lanes`] executes it in training: an FMA counts 2;
/// add, sub, mul, div and max 1; `exp` 1 (nominal: a libm `exp` costs a few dozen); the ReLU
/// compare-and-select 0. Training runs at temperature 1, where the kernel's scaling of the
/// outputs by `1/T` is exact and compiled away (`fma(f, 1, −y) = f − y`, `f · 1 = f`). Per point:
///
/// ```text
/// forward      z_j = b1_j + Σ_t W1_jt x_t        h·d FMAs            2hd
///              f_o = b2_o + Σ_j W2_oj a_j        o·h FMAs            2oh
/// delta   MSE  δ_o = (f_o − y)·(1/n)             1 sub + 1 mul       2o
///         CE   m = max_o f_o, e_o = exp(f_o − m), s = Σ_o e_o,
///              δ_o = (e_o/s − 1[o = c])·(1/n)    max, sub, exp, add,
///                                                div, sub, mul       7o
/// output grad  ∇b2_o += δ_o, ∇W2_oj += δ_o a_j    1 add + h FMAs      o(2h + 1)
/// hidden grad  da_j = Σ_o W2_oj δ_o              o FMAs              2oh
///              ∇b1_j += dz_j, ∇W1_jt += dz_j x_t  1 add + d FMAs     h(2d + 1)
/// ```
///
/// that is `4hd + 6oh + h + o + delta` per point, times `n`; then the masked update
/// `θ ← fma(−η, g ⊙ m, θ)`, one mul and one FMA per parameter: `3p`. The loss evaluation and
/// divergence check that end a training run are not a step and are not counted.
///
/// Default (`d = 3, h = 4, o = 1`, MSE, `n = 6`, `p = 21`): `6 · 79 + 63 = 537`.
pub fn flops_per_step(shape: &ToyShape, n: usize) -> u64 {
    let (d, h, o) = (
        shape.input_dim as u64,
        shape.hidden as u64,
        shape.outputs as u64,
    );
    let delta = match shape.loss {
        Loss::Mse => 2 * o,
        Loss::CrossEntropy => 7 * o,
    };
    let per_point = 4 * h * d + 6 * o * h + h + o + delta;
    n as u64 * per_point + 3 * shape.num_params() as u64
}

/// One thread's trainer: a batch of `L` networks on their own datasets, and its buffers
/// ([`LANES`], as `peff exact` trains; [`NOISY_LANES`] for gradient-noise training).
struct Worker<const L: usize = LANES> {
    nets: ToyBatch<L>,
    mask: Vec<f64>,
    params: Vec<f64>,
    diverged: Vec<bool>,
}

impl<const L: usize> Worker<L> {
    /// Network-steps of one [`Worker::run`].
    const STEPS_PER_RUN: u64 = (L * BENCH_STEPS) as u64;

    /// A worker whose lanes train datasets `offset·L ..` of the benchmark's sample stream.
    fn new(offset: u64) -> Self {
        let space = DataSpace {
            input_dim: BENCH_SHAPE.input_dim,
            n: BENCH_N,
        };
        let init = BENCH_SHAPE.init_params(BENCH_SEED);
        let datasets: Vec<(u64, Vec<u32>)> = (0..L as u64)
            .map(|l| {
                let key = offset * L as u64 + l;
                (key, space.sample(BENCH_SEED, key))
            })
            .collect();
        let train = TrainParams {
            steps: BENCH_STEPS,
            lr: BENCH_LR,
        };
        let nets = ToyBatch::<L>::new(BENCH_SHAPE, space, train, &init, &datasets);
        let p = BENCH_SHAPE.num_params();
        Worker {
            nets,
            mask: vec![1.0; p * L],
            params: vec![0.0; p * L],
            diverged: vec![false; L],
        }
    }

    /// The same worker trained stochastically (lane `l` with seed `l`).
    fn stochastic(mut self, settings: Stochastic) -> Self {
        let seeds: Vec<u64> = (0..L as u64).collect();
        self.nets = self.nets.with_stochastic(settings, &seeds);
        self
    }

    /// One training run of every lane; returns its network-steps.
    fn run(&mut self) -> u64 {
        self.nets
            .train(black_box(&self.mask), &mut self.params, &mut self.diverged);
        black_box((&self.params, &self.diverged));
        Self::STEPS_PER_RUN
    }
}

/// Warm-up before each measurement: a tenth of it, at most 0.5 s.
fn warm_up_time(seconds: f64) -> Duration {
    Duration::from_secs_f64((seconds / 10.0).min(0.5))
}

/// Calls `work` (which returns the units it did) until `budget` has passed, at least once;
/// returns the units and the time taken.
fn run_for(work: &mut impl FnMut() -> u64, budget: Duration) -> (u64, Duration) {
    let start = Instant::now();
    let mut units = 0;
    loop {
        units += work();
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return (units, elapsed);
        }
    }
}

fn pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")
}

/// Units per second and calls per second of the workload `make()` on a one-thread pool, timed
/// for about `seconds` after a warm-up.
fn rate_single<F: FnMut() -> u64>(
    seconds: f64,
    make: impl Fn(usize) -> F + Sync,
) -> anyhow::Result<(f64, f64)> {
    pool(1)?.install(|| {
        let mut work = make(0);
        run_for(&mut work, warm_up_time(seconds));
        let mut calls = 0u64;
        let mut counted = || {
            calls += 1;
            work()
        };
        let (units, elapsed) = run_for(&mut counted, Duration::from_secs_f64(seconds));
        let secs = elapsed.as_secs_f64();
        Ok((units as f64 / secs, calls as f64 / secs))
    })
}

/// Units per second of `threads` threads together, each running its own workload
/// `make(thread index)` for `calls_per_thread` calls after a warm-up; the rate is the total work
/// over the wall time from the first thread's start to the last one's finish.
fn rate_parallel<F: FnMut() -> u64>(
    threads: usize,
    calls_per_thread: u64,
    seconds: f64,
    make: impl Fn(usize) -> F + Sync,
) -> anyhow::Result<f64> {
    let barrier = std::sync::Barrier::new(threads);
    let spans: Vec<(u64, Instant, Instant)> = pool(threads)?.broadcast(|ctx| {
        let mut work = make(ctx.index());
        run_for(&mut work, warm_up_time(seconds));
        // Start together, so that no thread runs alone while another is still warming up.
        barrier.wait();
        let start = Instant::now();
        let units = (0..calls_per_thread).map(|_| work()).sum();
        (units, start, Instant::now())
    });
    let units: u64 = spans.iter().map(|s| s.0).sum();
    let first = spans
        .iter()
        .map(|s| s.1)
        .min()
        .context("no worker thread")?;
    let last = spans
        .iter()
        .map(|s| s.2)
        .max()
        .context("no worker thread")?;
    Ok(units as f64 / (last - first).as_secs_f64())
}

/// Rate of a workload on one thread and on `threads` threads (the same calls per thread,
/// enough for about `seconds` at the single-thread rate).
fn rates<F: FnMut() -> u64>(
    threads: usize,
    seconds: f64,
    make: impl Fn(usize) -> F + Sync,
) -> anyhow::Result<(f64, f64)> {
    let (single, calls_per_sec) = rate_single(seconds, &make)?;
    let calls_per_thread = (calls_per_sec * seconds).ceil().max(1.0) as u64;
    Ok((
        single,
        rate_parallel(threads, calls_per_thread, seconds, &make)?,
    ))
}

/// The default `peff exact` experiment: regression preset, `n = 6`, `T = 2000`, `η = 0.1`,
/// all six methods at every `k` from `p − 1` down to 1, default pruning settings, init seed 0.
pub fn default_exact_experiment() -> ToyExperiment {
    let shape = BENCH_SHAPE;
    let p = shape.num_params();
    ToyExperiment {
        task: "regression".to_string(),
        shape,
        space: DataSpace {
            input_dim: shape.input_dim,
            n: BENCH_N,
        },
        train: TrainParams {
            steps: BENCH_STEPS,
            lr: BENCH_LR,
        },
        prune: PruneSettings {
            random_seed: 0,
            synflow_rounds: 100,
            imp_rate: 0.2,
            grasp_temperature: 1.0,
        },
        methods: Method::ALL.to_vec(),
        requested_k: (1..p).rev().collect(),
        init: shape.init_params(BENCH_SEED),
        init_seed: Some(BENCH_SEED),
    }
}

/// Wall time of the default `peff exact` run on `threads` threads, and its dataset count.
fn time_exact(threads: usize) -> anyhow::Result<(f64, u64)> {
    let exp = default_exact_experiment();
    exp.validate()?;
    let pool = pool(threads)?;
    let started = Instant::now();
    let tallies = pool.install(|| exp.tally(enumerate_datasets(exp.space), false, &|_| {}));
    let wall = started.elapsed().as_secs_f64();
    black_box(tallies);
    let datasets = exp.space.num_multisets().context("dataset count")? as u64;
    Ok((wall, datasets))
}

/// Runs the benchmark of the module docs.
pub fn run(args: &BenchConfig) -> anyhow::Result<BenchReport> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        bail!("`--seconds` must be in (0, 3600], got {}", args.seconds);
    }
    let (flops_per_cycle, flops_per_cycle_source) = match args.flops_per_cycle {
        Some(f) if !(f.is_finite() && f > 0.0 && f <= 1024.0) => {
            bail!("`--flops-per-cycle` must be a number in (0, 1024], got {f}")
        }
        Some(f) => (f, "--flops-per-cycle".to_string()),
        None => detected_flops_per_cycle(),
    };
    if let Some(ghz) = args.clock_ghz {
        if !(ghz.is_finite() && ghz > 0.0) {
            bail!("`--clock-ghz` must be a finite number > 0, got {ghz}");
        }
    }
    let info = CpuInfo::read();
    let logical = std::thread::available_parallelism().map_or(info.logical.max(1), |n| n.get());
    if args.threads > logical {
        bail!(
            "`--threads` must be in [0, {logical}] (0: all {logical} logical CPUs; more threads than CPUs only share them), got {}",
            args.threads
        );
    }
    let threads = if args.threads == 0 {
        logical
    } else {
        args.threads
    };
    let (clock_ghz, clock_source) = match (args.clock_ghz, info.mhz) {
        (Some(ghz), _) => (ghz, "--clock-ghz".to_string()),
        (None, Some(mhz)) if mhz > 0.0 => (mhz / 1000.0, "/proc/cpuinfo cpu MHz".to_string()),
        _ => (
            FALLBACK_CLOCK_GHZ,
            "fallback (no cpu MHz in /proc/cpuinfo)".to_string(),
        ),
    };
    let (cores, cores_source) = physical_cores(args.physical_cores, &info, logical);

    let (steps_per_sec_1t, steps_per_sec_all) = rates(threads, args.seconds, |i| {
        let mut worker = Worker::<LANES>::new(i as u64);
        move || worker.run()
    })?;
    // The probe is a sanity check of the peak: a fifth of the time is plenty for a loop that
    // touches no memory.
    let probe = match fma_probe() {
        Some(_) => {
            let (one, all) = rates(threads, args.seconds / 5.0, |_| || fma_probe().unwrap_or(0))?;
            Some((one / 1e9, all / 1e9))
        }
        None => None,
    };
    let mlp = crate::bench::mlp::measure::<f32>(
        &MLP_BENCH_WIDTHS,
        MLP_BENCH_N,
        crate::model::Optimizer::sgd(1e-2),
        Duration::from_secs_f64(args.seconds / 5.0),
    )
    .context("MLP benchmark")?;
    let student = crate::bench::mlp::measure::<f32>(
        &STUDENT_WIDTHS,
        STUDENT_N,
        crate::model::Optimizer::adam(1e-3),
        Duration::from_secs_f64(args.seconds / 5.0),
    )
    .context("student benchmark")?;
    let fmnist = crate::bench::mlp::measure::<f32>(
        &FMNIST_WIDTHS,
        FMNIST_BATCH,
        crate::model::Optimizer::adam(1e-3),
        Duration::from_secs_f64(args.seconds / 5.0),
    )
    .context("Figure 1(b) benchmark")?;
    let conv_step = |shape: [usize; 3]| {
        crate::bench::conv::measure::<f32>(
            shape,
            CONV_BENCH_LAYERS,
            CONV_BENCH_CHANNELS,
            CONV_BENCH_BATCH,
            Duration::from_secs_f64(args.seconds / 5.0),
        )
        .context("ConvNet benchmark")
    };
    let conv = conv_step(crate::data::cifar::SHAPE)?;
    let conv_fmnist = conv_step([1, 28, 28])?;
    let sweep_budget = Duration::from_secs_f64(args.seconds / 2.0);
    let fmnist_sweep = args.sweeps.then(|| {
        crate::bench::sparse::measure::<_, f32>(
            &crate::model::mlp::Mlp::new(&FMNIST_WIDTHS, crate::model::Loss::CrossEntropy)
                .expect("a valid MLP"),
            FMNIST_BATCH,
            crate::bench::sparse::FMNIST_SWEEP_EPOCHS,
            sweep_budget,
        )
    });
    let conv_sweep = |shape: [usize; 3]| -> anyhow::Result<crate::bench::sparse::SweepRates> {
        let net = crate::model::conv::Conv::new(
            shape,
            CONV_BENCH_LAYERS,
            CONV_BENCH_CHANNELS,
            10,
            crate::model::Loss::CrossEntropy,
        )?;
        Ok(crate::bench::sparse::measure::<_, f32>(
            &net,
            CONV_BENCH_BATCH,
            crate::bench::sparse::CONV_SWEEP_EPOCHS,
            sweep_budget,
        ))
    };
    let (conv_sweep_cifar, conv_sweep_fmnist) = if args.sweeps {
        (
            Some(conv_sweep(crate::data::cifar::SHAPE)?),
            Some(conv_sweep([1, 28, 28])?),
        )
    } else {
        (None, None)
    };
    // Stochastic training (`peff stochastic`), one thread: minibatches of 1 and 3 points, and
    // full batch with gradient noise.
    // Each with the lanes `peff stochastic` trains it with.
    fn sgd_rate<const L: usize>(
        seconds: f64,
        batch_size: usize,
        grad_noise: f64,
    ) -> anyhow::Result<f64> {
        let settings = Stochastic {
            batch_size,
            grad_noise,
        };
        rate_single(seconds / 5.0, |i| {
            let mut worker = Worker::<L>::new(i as u64).stochastic(settings);
            move || worker.run()
        })
        .map(|r| r.0)
    }
    let (sgd_b1, sgd_b3, noisy) = (
        sgd_rate::<LANES>(args.seconds, 1, 0.0)?,
        sgd_rate::<LANES>(args.seconds, 3, 0.0)?,
        sgd_rate::<NOISY_LANES>(args.seconds, BENCH_N, 0.01)?,
    );
    let per_flop = |rate: f64, batch: usize| {
        rate * flops_per_step(&BENCH_SHAPE, batch) as f64
            / (steps_per_sec_1t * flops_per_step(&BENCH_SHAPE, BENCH_N) as f64)
    };
    let exact = if args.exact {
        Some(time_exact(threads)?)
    } else {
        None
    };

    let flops = flops_per_step(&BENCH_SHAPE, BENCH_N);
    let nominal_1t = clock_ghz * flops_per_cycle;
    let nominal_all = threads.min(cores) as f64 * nominal_1t;
    let (peak_gflops_1t, peak_gflops, peak_source) = match probe {
        Some((one, all)) if one > nominal_1t || all > nominal_all => (
            one.max(nominal_1t),
            all.max(nominal_all),
            "FMA probe (it beats cores x clock x flops/cycle: the clock boosts above nominal)"
                .to_string(),
        ),
        _ => (
            nominal_1t,
            nominal_all,
            "cores x clock x flops/cycle".to_string(),
        ),
    };
    let gflops_1t = steps_per_sec_1t * flops as f64 / 1e9;
    let gflops_all = steps_per_sec_all * flops as f64 / 1e9;
    Ok(BenchReport {
        steps_per_sec_1t,
        steps_per_sec_all,
        threads,
        speedup: steps_per_sec_all / steps_per_sec_1t,
        flops_per_step: flops,
        gflops_1t,
        gflops_all,
        peak_gflops_1t,
        peak_gflops,
        peak_source,
        peak_fraction_1t: gflops_1t / peak_gflops_1t,
        peak_fraction_all: gflops_all / peak_gflops,
        clock_ghz,
        clock_source,
        flops_per_cycle,
        flops_per_cycle_source,
        probe_vector_bits: if vector_bits() >= 512 { 512 } else { 256 },
        physical_cores: cores,
        physical_cores_source: cores_source,
        logical_cpus: logical,
        virtualised: info.virtualised,
        cpu: info.model,
        fma_probe_gflops_1t: probe.map(|p| p.0),
        fma_probe_gflops_all: probe.map(|p| p.1),
        probe_fraction_1t: probe.map(|p| gflops_1t / p.0),
        probe_fraction_all: probe.map(|p| gflops_all / p.1),
        lanes: LANES,
        n: BENCH_N,
        steps_per_run: BENCH_STEPS,
        task: "regression",
        exact_wall_seconds: exact.map(|e| e.0),
        exact_datasets: exact.map(|e| e.1),
        mlp_steps_per_sec_1t: mlp.steps_per_sec,
        mlp_gemm_fraction: mlp.gemm_fraction,
        student_steps_per_sec_1t: student.steps_per_sec,
        student_gemm_fraction: student.gemm_fraction,
        student_gflops_1t: student.step_gflops,
        fmnist_steps_per_sec_1t: fmnist.steps_per_sec,
        fmnist_gemm_fraction: fmnist.gemm_fraction,
        conv_steps_per_sec_1t: conv.adam_steps_per_sec,
        conv_gemm_fraction: conv.gemm_fraction,
        conv_gflops_1t: conv.gradient_gflops,
        conv_fmnist_steps_per_sec_1t: conv_fmnist.adam_steps_per_sec,
        conv_fmnist_gemm_fraction: conv_fmnist.gemm_fraction,
        fmnist_sweep_steps_per_sec_1t: fmnist_sweep.as_ref().map(|s| s.sweep_steps_per_sec),
        fmnist_density_steps_per_sec_1t: fmnist_sweep.map(|s| s.density_steps_per_sec),
        conv_sweep_steps_per_sec_1t: conv_sweep_cifar.as_ref().map(|s| s.sweep_steps_per_sec),
        conv_density_steps_per_sec_1t: conv_sweep_cifar.map(|s| s.density_steps_per_sec),
        conv_fmnist_sweep_steps_per_sec_1t: conv_sweep_fmnist
            .as_ref()
            .map(|s| s.sweep_steps_per_sec),
        conv_fmnist_density_steps_per_sec_1t: conv_sweep_fmnist.map(|s| s.density_steps_per_sec),
        sgd_b1_steps_per_sec_1t: sgd_b1,
        sgd_b1_flop_ratio: per_flop(sgd_b1, 1),
        sgd_b3_steps_per_sec_1t: sgd_b3,
        sgd_b3_flop_ratio: per_flop(sgd_b3, 3),
        noisy_steps_per_sec_1t: noisy,
        noisy_ratio: noisy / steps_per_sec_1t,
        peff_version: env!("CARGO_PKG_VERSION"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Format;

    #[test]
    fn flops_per_step_default_regression() {
        // Per point, d=3, h=4, o=1, MSE:
        //   forward   2hd + 2oh     = 24 + 8  = 32
        //   delta     2o            = 2
        //   output    o(2h + 1)     = 9
        //   hidden    2oh + h(2d+1) = 8 + 28  = 36
        //   total                   = 79;  × n = 6 → 474
        // update 3p = 3 · 21 = 63  →  537
        assert_eq!(flops_per_step(&BENCH_SHAPE, 6), 537);
    }

    #[test]
    fn flops_per_step_classification() {
        let cls = ToyShape {
            input_dim: 3,
            hidden: 3,
            outputs: 2,
            loss: Loss::CrossEntropy,
        };
        // Per point, d=3, h=3, o=2, CE: forward 18 + 12, delta 7·2 = 14, output 2·7 = 14,
        // hidden 12 + 3·7 = 33 → 91; × 6 = 546; update 3 · 20 = 60 → 606.
        assert_eq!(flops_per_step(&cls, 6), 606);
    }

    #[test]
    fn cpuinfo_topology() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.418\nphysical id\t: 0\n\
                    core id\t\t: 0\ncpu cores\t: 2\nflags\t\t: fpu avx2 hypervisor\n\n\
                    processor\t: 1\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.418\nphysical id\t: 0\n\
                    core id\t\t: 0\ncpu cores\t: 1\nflags\t\t: fpu avx2 hypervisor\n";
        let info = CpuInfo::parse(text);
        assert_eq!(info.model, "AMD EPYC");
        assert_eq!(info.logical, 2);
        assert_eq!(info.mhz, Some(2445.418));
        // Two hardware threads of one core.
        assert_eq!(info.cores, Some(1));
        assert!(info.virtualised);
        assert_eq!(physical_cores(0, &info, 2).0, 1);
        assert_eq!(physical_cores(3, &info, 2).0, 3);
        assert_eq!(physical_cores(0, &CpuInfo::default(), 4).0, 4);
    }

    #[test]
    fn json_report_has_spec_keys() {
        let args = BenchConfig {
            seconds: 0.05,
            threads: 2,
            sweeps: false,
            ..BenchConfig::default()
        };
        let report = run(&args).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&render(&report, Format::Json).unwrap()).unwrap();
        for key in [
            "steps_per_sec_1t",
            "steps_per_sec_all",
            "threads",
            "flops_per_step",
            "peak_fraction_1t",
            "mlp_steps_per_sec_1t",
            "mlp_gemm_fraction",
        ] {
            assert!(json.get(key).is_some(), "missing key {key}");
        }
        assert_eq!(json["flops_per_step"], 537);
        assert_eq!(json["threads"], 2);
        assert!(report.steps_per_sec_1t > 0.0 && report.steps_per_sec_all > 0.0);
        let table = render(&report, Format::Table).unwrap();
        assert!(table.contains("peak (1 thread) = 1 core x"), "{table}");
        assert!(
            table.contains("MLP core (f32, 1 thread): 30-100-100-2"),
            "{table}"
        );
        assert!(report.mlp_steps_per_sec_1t > 0.0 && report.mlp_gemm_fraction > 0.0);
        assert!(render(&report, Format::Csv)
            .unwrap()
            .starts_with("steps_per_sec_1t,"));
        // `PEFF_BENCH_PRINT=1 cargo test bench -- --nocapture` shows a quick run.
        if std::env::var_os("PEFF_BENCH_PRINT").is_some() {
            println!("{table}");
        }
    }

    #[test]
    fn rejects_bad_flags() {
        let err = run(&BenchConfig {
            seconds: -1.0,
            ..BenchConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("`--seconds`"), "{err}");
    }
}
