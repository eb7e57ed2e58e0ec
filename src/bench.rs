//! `peff bench` (SPEC §10): throughput of the toy trainer in network-steps per second, and the
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
//! Both follow a short warm-up. Flops are counted by hand from the kernel ([`flops_per_step`];
//! 543 per network-step for the default), and compared with the peak
//!
//! ```text
//! peak = cores × clock × flops/cycle,   flops/cycle = 16 = 2 FMA units × 4 f64 (256-bit) × 2
//! peak_fraction = network-steps/s × flops_per_step / peak
//! ```
//!
//! where `cores` is the number of physical cores the threads can occupy (1 for the single-thread
//! figure; `min(threads, physical cores)` for all threads). Hardware threads of one core share
//! its FMA units, so they do not add peak. Physical cores are read from `/proc/cpuinfo`
//! (distinct `(physical id, core id)` pairs); a virtual machine usually hides SMT (its vCPUs
//! look like cores), so when the CPU reports a hypervisor and one thread per core, peff assumes
//! the cloud convention of two vCPUs per physical core and says so (`--physical-cores`
//! overrides). The clock is the largest `cpu MHz` in `/proc/cpuinfo` (`--clock-ghz` overrides),
//! a nominal figure: boost clocks make the true peak higher and the fractions lower.
//!
//! `--exact` also times the default `peff exact` run (all six methods, every dataset).

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde::Serialize;

use crate::data::DataSpace;
use crate::experiment::{enumerate_datasets, LANES};
use crate::export::Format;
use crate::model::lanes::{ToyBatch, TrainParams};
use crate::model::toy::{Loss, ToyShape};
use crate::model::Networks;

/// The benchmarked architecture: the default regression preset (SPEC §2).
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
/// Default FMA throughput: 2 FMA units × 4 f64 lanes (256-bit) × 2 flops per FMA.
pub const DEFAULT_FLOPS_PER_CYCLE: f64 = 16.0;
/// Clock assumed when `/proc/cpuinfo` gives none, GHz.
pub const FALLBACK_CLOCK_GHZ: f64 = 2.6;

/// Flags of `peff bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Seconds per measurement (single-threaded, then all threads), after a short warm-up.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Worker threads of the multi-threaded measurement (0: all logical CPUs).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Also time the default `peff exact` run (regression, n = 6, T = 2000, all six methods).
    #[arg(long)]
    pub exact: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Core clock in GHz for the peak (default: the largest `cpu MHz` in /proc/cpuinfo, else 2.6).
    #[arg(long)]
    pub clock_ghz: Option<f64>,
    /// Float64 flops per cycle per core (16: two 256-bit FMA units; 32 for two 512-bit units).
    #[arg(long, default_value_t = DEFAULT_FLOPS_PER_CYCLE)]
    pub flops_per_cycle: f64,
    /// Physical cores, whose FMA units bound the peak (0: detect from /proc/cpuinfo).
    #[arg(long, default_value_t = 0)]
    pub physical_cores: usize,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            seconds: 3.0,
            threads: 0,
            exact: false,
            format: Format::Table,
            clock_ghz: None,
            flops_per_cycle: DEFAULT_FLOPS_PER_CYCLE,
            physical_cores: 0,
        }
    }
}

/// What `peff bench` measured, and the peak it compares against (`--format json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Network-steps per second on one thread.
    pub steps_per_sec_1t: f64,
    /// Network-steps per second on `threads` threads together.
    pub steps_per_sec_all: f64,
    /// Threads of the multi-threaded measurement.
    pub threads: usize,
    /// `steps_per_sec_all / steps_per_sec_1t`.
    pub speedup: f64,
    /// Flops per network-step, counted by hand ([`flops_per_step`]; an FMA counts 2).
    pub flops_per_step: u64,
    /// Achieved GFLOP/s on one thread.
    pub gflops_1t: f64,
    /// Achieved GFLOP/s on all threads.
    pub gflops_all: f64,
    /// Peak GFLOP/s of one core: `clock_ghz × flops_per_cycle`.
    pub peak_gflops_1t: f64,
    /// Peak GFLOP/s of the cores the threads can occupy: `min(threads, physical_cores) × peak_gflops_1t`.
    pub peak_gflops: f64,
    /// `gflops_1t / peak_gflops_1t`.
    pub peak_fraction_1t: f64,
    /// `gflops_all / peak_gflops`.
    pub peak_fraction_all: f64,
    /// Core clock assumed, GHz.
    pub clock_ghz: f64,
    /// Where the clock came from (`/proc/cpuinfo`, `--clock-ghz`, or the fallback).
    pub clock_source: String,
    /// Float64 flops per cycle per core assumed.
    pub flops_per_cycle: f64,
    /// Physical cores assumed (their FMA units bound the peak).
    pub physical_cores: usize,
    /// How the physical core count was found.
    pub physical_cores_source: String,
    /// Logical CPUs the OS reports.
    pub logical_cpus: usize,
    /// CPU model name from /proc/cpuinfo (empty if unknown).
    pub cpu: String,
    /// Networks per lockstep batch ([`LANES`]).
    pub lanes: usize,
    /// Points per dataset.
    pub n: usize,
    /// Steps per training run.
    pub steps_per_run: usize,
    /// Task preset measured.
    pub task: &'static str,
    /// Wall time of the default `peff exact` run on `threads` threads, seconds (`--exact` only).
    pub exact_wall_seconds: Option<f64>,
    /// Datasets the `peff exact` run enumerated (`--exact` only).
    pub exact_datasets: Option<u64>,
    /// peff's version.
    pub peff_version: &'static str,
}

/// Flops of one network-step (one full-batch gradient step of one network on `n` points), as
/// written in the kernel of [`crate::model::lanes`]; an FMA counts 2, add/sub/mul/div/max 1,
/// `exp` 1 (nominal), the ReLU compare-and-select 0. Per point:
///
/// ```text
/// forward      z_j = b1_j + Σ_t W1_jt x_t      h·d FMAs          2hd
///              f_o = b2_o + Σ_j W2_oj a_j      o·h FMAs          2oh
/// delta   MSE  δ_o = (f_o·(1/T) − y)·(1/n)     1 FMA + 1 mul     3o
///         CE   max of f·(1/T), e = exp(f/T − max), Σe,
///              δ_o = (e_o/Σe − 1[o = c])·(1/n)                   9o
/// output grad  ∇b2_o += δ_o, ∇W2_oj += δ_o a_j  1 add + h FMAs    o(2h + 1)
/// hidden grad  da_j = Σ_o W2_oj δ_o            o FMAs            2oh
///              ∇b1_j += dz_j, ∇W1_jt += dz_j x_t 1 add + d FMAs  h(2d + 1)
/// ```
///
/// i.e. `4hd + 6oh + h + o + delta` per point, times `n`; then the masked update
/// `θ ← fma(−η, g ⊙ m, θ)`, one mul and one FMA per parameter: `3p`. The divergence check
/// after `T` steps (one loss evaluation per run) is not a step and is not counted.
///
/// Default (`d = 3, h = 4, o = 1`, MSE, `n = 6`, `p = 21`): `6 · 80 + 63 = 543`.
pub fn flops_per_step(shape: &ToyShape, n: usize) -> u64 {
    let (d, h, o) = (
        shape.input_dim as u64,
        shape.hidden as u64,
        shape.outputs as u64,
    );
    let delta = match shape.loss {
        Loss::Mse => 3 * o,
        Loss::CrossEntropy => 9 * o,
    };
    let per_point = 4 * h * d + 6 * o * h + h + o + delta;
    n as u64 * per_point + 3 * shape.num_params() as u64
}

/// One thread's trainer: a batch of [`LANES`] networks on their own datasets, and its buffers.
struct Worker {
    nets: ToyBatch<LANES>,
    mask: Vec<f64>,
    params: Vec<f64>,
    diverged: Vec<bool>,
}

impl Worker {
    /// Network-steps of one [`Worker::run`].
    const STEPS_PER_RUN: u64 = (LANES * BENCH_STEPS) as u64;

    /// A worker whose lanes train datasets `offset·LANES ..` of the benchmark's sample stream.
    fn new(offset: u64) -> Self {
        let space = DataSpace {
            input_dim: BENCH_SHAPE.input_dim,
            n: BENCH_N,
        };
        let init = BENCH_SHAPE.init_params(BENCH_SEED);
        let datasets: Vec<(u64, Vec<u32>)> = (0..LANES as u64)
            .map(|l| {
                let key = offset * LANES as u64 + l;
                (key, space.sample(BENCH_SEED, key))
            })
            .collect();
        let train = TrainParams {
            steps: BENCH_STEPS,
            lr: BENCH_LR,
        };
        let nets = ToyBatch::<LANES>::new(BENCH_SHAPE, space, train, &init, &datasets);
        let p = BENCH_SHAPE.num_params();
        Worker {
            nets,
            mask: vec![1.0; p * LANES],
            params: vec![0.0; p * LANES],
            diverged: vec![false; LANES],
        }
    }

    /// One training run of every lane: [`Worker::STEPS_PER_RUN`] network-steps.
    fn run(&mut self) {
        self.nets
            .train(black_box(&self.mask), &mut self.params, &mut self.diverged);
        black_box((&self.params, &self.diverged));
    }

    /// Runs until `budget` has passed (at least once); returns the number of runs and the time.
    fn run_for(&mut self, budget: Duration) -> (u64, Duration) {
        let start = Instant::now();
        let mut runs = 0;
        loop {
            self.run();
            runs += 1;
            let elapsed = start.elapsed();
            if elapsed >= budget {
                return (runs, elapsed);
            }
        }
    }
}

/// Warm-up before each measurement: a tenth of it, at most 0.5 s.
fn warm_up_time(seconds: f64) -> Duration {
    Duration::from_secs_f64((seconds / 10.0).min(0.5))
}

fn pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")
}

/// Network-steps/s on one thread, training for about `seconds` after a warm-up.
fn measure_single(seconds: f64) -> anyhow::Result<f64> {
    let pool = pool(1)?;
    Ok(pool.install(|| {
        let mut worker = Worker::new(0);
        worker.run_for(warm_up_time(seconds));
        let (runs, elapsed) = worker.run_for(Duration::from_secs_f64(seconds));
        (runs * Worker::STEPS_PER_RUN) as f64 / elapsed.as_secs_f64()
    }))
}

/// Network-steps/s on `threads` threads, each training its own batches for `runs_per_thread`
/// runs after a warm-up; the rate is the total work over the wall time from the first thread's
/// start to the last one's finish.
fn measure_parallel(threads: usize, runs_per_thread: u64, seconds: f64) -> anyhow::Result<f64> {
    let pool = pool(threads)?;
    let barrier = std::sync::Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = pool.broadcast(|ctx| {
        let mut worker = Worker::new(ctx.index() as u64);
        worker.run_for(warm_up_time(seconds));
        // Start together so that no thread runs alone while another is still warming up.
        barrier.wait();
        let start = Instant::now();
        for _ in 0..runs_per_thread {
            worker.run();
        }
        (start, Instant::now())
    });
    let first = spans
        .iter()
        .map(|s| s.0)
        .min()
        .context("no worker thread")?;
    let last = spans
        .iter()
        .map(|s| s.1)
        .max()
        .context("no worker thread")?;
    let total = threads as u64 * runs_per_thread * Worker::STEPS_PER_RUN;
    Ok(total as f64 / (last - first).as_secs_f64())
}

/// What `/proc/cpuinfo` says about the CPU.
#[derive(Clone, Debug, Default, PartialEq)]
struct CpuInfo {
    model: String,
    /// Largest `cpu MHz`.
    mhz: Option<f64>,
    /// Distinct `(physical id, core id)` pairs, or `cpu cores` when those are missing.
    cores: Option<usize>,
    /// `processor` entries.
    logical: usize,
    /// The `hypervisor` flag is set.
    virtualised: bool,
}

impl CpuInfo {
    fn parse(text: &str) -> Self {
        let mut info = CpuInfo::default();
        let mut pairs = std::collections::BTreeSet::new();
        let (mut physical_id, mut cpu_cores) = (None::<String>, None);
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "processor" => info.logical += 1,
                "model name" if info.model.is_empty() => info.model = value.to_string(),
                "cpu MHz" => {
                    if let Ok(mhz) = value.parse::<f64>() {
                        info.mhz = Some(info.mhz.map_or(mhz, |m: f64| m.max(mhz)));
                    }
                }
                "physical id" => physical_id = Some(value.to_string()),
                "core id" => {
                    pairs.insert((physical_id.clone().unwrap_or_default(), value.to_string()));
                }
                "cpu cores" => cpu_cores = value.parse::<usize>().ok().or(cpu_cores),
                "flags" => info.virtualised |= value.split_whitespace().any(|f| f == "hypervisor"),
                _ => {}
            }
        }
        info.cores = if pairs.is_empty() {
            cpu_cores
        } else {
            Some(pairs.len())
        };
        info
    }

    fn read() -> Self {
        std::fs::read_to_string("/proc/cpuinfo")
            .map_or_else(|_| CpuInfo::default(), |t| CpuInfo::parse(&t))
    }
}

/// Physical cores and how they were found: the flag, else `/proc/cpuinfo`, where a virtual
/// machine showing one thread per core is taken to hide SMT (two vCPUs per core).
fn physical_cores(flag: usize, info: &CpuInfo, logical: usize) -> (usize, String) {
    if flag > 0 {
        return (flag, "--physical-cores".to_string());
    }
    match info.cores {
        Some(cores) if info.virtualised && cores == logical && logical > 1 => (
            logical.div_ceil(2),
            format!(
                "assumed: /proc/cpuinfo shows {cores} cores of 1 thread under a hypervisor, taken as \
                 SMT hidden by the VM (2 vCPUs per physical core); override with --physical-cores"
            ),
        ),
        Some(cores) => (cores.max(1), "/proc/cpuinfo (distinct core ids)".to_string()),
        None => (logical, "assumed: one core per logical CPU (no topology in /proc/cpuinfo)".to_string()),
    }
}

/// Wrapper to build the default `peff exact` configuration from an argv.
#[derive(Parser)]
struct ExactArgv {
    #[command(flatten)]
    toy: crate::cli::ToyArgs,
}

/// Wall time of the default `peff exact` run on `threads` threads, and its dataset count.
fn time_exact(threads: usize) -> anyhow::Result<(f64, u64)> {
    let argv = ["peff-exact", "--threads", &threads.to_string()];
    let run = ExactArgv::try_parse_from(argv)?.toy.validate()?;
    let exp = run.experiment;
    let pool = pool(threads)?;
    let started = Instant::now();
    let tallies = pool.install(|| exp.tally(enumerate_datasets(exp.space), false, &|_| {}));
    let wall = started.elapsed().as_secs_f64();
    black_box(tallies);
    let datasets = exp.space.num_multisets().context("dataset count")? as u64;
    Ok((wall, datasets))
}

/// Runs the benchmark of the module docs.
pub fn run(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        bail!("`--seconds` must be in (0, 3600], got {}", args.seconds);
    }
    if !(args.flops_per_cycle.is_finite() && args.flops_per_cycle > 0.0) {
        bail!(
            "`--flops-per-cycle` must be a finite number > 0, got {}",
            args.flops_per_cycle
        );
    }
    if let Some(ghz) = args.clock_ghz {
        if !(ghz.is_finite() && ghz > 0.0) {
            bail!("`--clock-ghz` must be a finite number > 0, got {ghz}");
        }
    }
    if args.threads > 1024 {
        bail!(
            "`--threads` must be in [0, 1024] (0: all logical CPUs), got {}",
            args.threads
        );
    }
    let info = CpuInfo::read();
    let logical = std::thread::available_parallelism().map_or(info.logical.max(1), |n| n.get());
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

    let steps_per_sec_1t = measure_single(args.seconds)?;
    let runs_per_thread = ((steps_per_sec_1t * args.seconds) / Worker::STEPS_PER_RUN as f64)
        .ceil()
        .max(1.0) as u64;
    let steps_per_sec_all = measure_parallel(threads, runs_per_thread, args.seconds)?;
    let exact = if args.exact {
        Some(time_exact(threads)?)
    } else {
        None
    };

    let flops = flops_per_step(&BENCH_SHAPE, BENCH_N);
    let peak_gflops_1t = clock_ghz * args.flops_per_cycle;
    let peak_gflops = threads.min(cores) as f64 * peak_gflops_1t;
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
        peak_fraction_1t: gflops_1t / peak_gflops_1t,
        peak_fraction_all: gflops_all / peak_gflops,
        clock_ghz,
        clock_source,
        flops_per_cycle: args.flops_per_cycle,
        physical_cores: cores,
        physical_cores_source: cores_source,
        logical_cpus: logical,
        cpu: info.model,
        lanes: LANES,
        n: BENCH_N,
        steps_per_run: BENCH_STEPS,
        task: "regression",
        exact_wall_seconds: exact.map(|e| e.0),
        exact_datasets: exact.map(|e| e.1),
        peff_version: env!("CARGO_PKG_VERSION"),
    })
}

/// The report as text: a readable table stating the peak assumption, one CSV row, or one JSON
/// object (the keys of [`BenchReport`]).
pub fn render(report: &BenchReport, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(report)? + "\n"),
        Format::Csv => crate::export::to_csv(std::slice::from_ref(report)),
        Format::Table => Ok(table(report)),
    }
}

fn table(r: &BenchReport) -> String {
    let s = &BENCH_SHAPE;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "toy trainer: {} (d={}, h={}, o={}), n={}, {} lanes in lockstep, {} steps per run",
        r.task, s.input_dim, s.hidden, s.outputs, r.n, r.lanes, r.steps_per_run
    ));
    let cpu = if r.cpu.is_empty() {
        "unknown CPU"
    } else {
        &r.cpu
    };
    line(format!(
        "cpu: {cpu}, {} logical CPUs, {} physical cores",
        r.logical_cpus, r.physical_cores
    ));
    line(format!(
        "flops per network-step: {} (counted by hand, FMA = 2)",
        r.flops_per_step
    ));
    line(String::new());
    line(format!(
        "{:<12} {:>16} {:>9} {:>10} {:>10}",
        "threads", "network-steps/s", "GFLOP/s", "peak", "% of peak"
    ));
    for (threads, steps, gflops, peak, fraction) in [
        (
            1,
            r.steps_per_sec_1t,
            r.gflops_1t,
            r.peak_gflops_1t,
            r.peak_fraction_1t,
        ),
        (
            r.threads,
            r.steps_per_sec_all,
            r.gflops_all,
            r.peak_gflops,
            r.peak_fraction_all,
        ),
    ] {
        line(format!(
            "{threads:<12} {steps:>16.4e} {gflops:>9.3} {peak:>10.2} {:>9.2}%",
            100.0 * fraction
        ));
    }
    line(format!(
        "speedup {} threads / 1 thread: {:.2}×",
        r.threads, r.speedup
    ));
    line(String::new());
    let cores_all = (r.peak_gflops / r.peak_gflops_1t).round() as usize;
    line(format!(
        "peak = cores_sharing_fpu × clock × flops/cycle: 1 thread: 1 × {:.3} GHz × {} = {:.2} GFLOP/s; \
         {} threads: {cores_all} × {:.3} GHz × {} = {:.2} GFLOP/s",
        r.clock_ghz, r.flops_per_cycle, r.peak_gflops_1t, r.threads, r.clock_ghz, r.flops_per_cycle, r.peak_gflops
    ));
    line(format!(
        "  clock: {} (nominal; boost clocks raise the true peak)",
        r.clock_source
    ));
    line(format!(
        "  flops/cycle: {} (16 = 2 FMA units × 4 f64 × 2; --flops-per-cycle)",
        r.flops_per_cycle
    ));
    line(format!("  physical cores: {}", r.physical_cores_source));
    if let (Some(wall), Some(datasets)) = (r.exact_wall_seconds, r.exact_datasets) {
        line(String::new());
        line(format!(
            "peff exact (regression, n=6, T=2000, all six methods, {datasets} datasets, {} threads): {wall:.2} s",
            r.threads
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_per_step_default_regression() {
        // Per point, d=3, h=4, o=1, MSE:
        //   forward   2hd + 2oh     = 24 + 8  = 32
        //   delta     3o            = 3
        //   output    o(2h + 1)     = 9
        //   hidden    2oh + h(2d+1) = 8 + 28  = 36
        //   total                   = 80;  × n = 6 → 480
        // update 3p = 3 · 21 = 63  →  543
        assert_eq!(flops_per_step(&BENCH_SHAPE, 6), 543);
    }

    #[test]
    fn flops_per_step_classification() {
        let cls = ToyShape {
            input_dim: 3,
            hidden: 3,
            outputs: 2,
            loss: Loss::CrossEntropy,
        };
        // Per point, d=3, h=3, o=2, CE: forward 18 + 12, delta 9·2 = 18, output 2·7 = 14,
        // hidden 12 + 3·7 = 33 → 95; × 6 = 570; update 3 · 20 = 60 → 630.
        assert_eq!(flops_per_step(&cls, 6), 630);
    }

    #[test]
    fn cpuinfo_topology_and_vm_assumption() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.418\nphysical id\t: 0\n\
                    core id\t\t: 0\ncpu cores\t: 2\nflags\t\t: fpu avx2 hypervisor\n\n\
                    processor\t: 1\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.418\nphysical id\t: 0\n\
                    core id\t\t: 1\ncpu cores\t: 2\nflags\t\t: fpu avx2 hypervisor\n";
        let info = CpuInfo::parse(text);
        assert_eq!(info.model, "AMD EPYC");
        assert_eq!(info.logical, 2);
        assert_eq!(info.cores, Some(2));
        assert!(info.virtualised);
        assert_eq!(physical_cores(0, &info, 2).0, 1);
        assert_eq!(physical_cores(3, &info, 2).0, 3);
        let bare = CpuInfo::parse(&text.replace(" hypervisor", ""));
        assert_eq!(physical_cores(0, &bare, 2).0, 2);
    }

    #[test]
    fn json_report_has_spec_keys() {
        let args = BenchArgs {
            seconds: 0.05,
            threads: 2,
            ..BenchArgs::default()
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
        ] {
            assert!(json.get(key).is_some(), "missing key {key}");
        }
        assert_eq!(json["flops_per_step"], 543);
        assert_eq!(json["threads"], 2);
        assert!(report.steps_per_sec_1t > 0.0 && report.steps_per_sec_all > 0.0);
        let table = render(&report, Format::Table).unwrap();
        assert!(table.contains("peak = cores_sharing_fpu"), "{table}");
        assert!(render(&report, Format::Csv)
            .unwrap()
            .starts_with("steps_per_sec_1t,"));
        if std::env::var_os("PEFF_BENCH_PRINT").is_some() {
            println!("{table}");
        }
    }

    #[test]
    fn rejects_bad_flags() {
        let err = run(&BenchArgs {
            seconds: -1.0,
            ..BenchArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("`--seconds`"), "{err}");
    }
}
