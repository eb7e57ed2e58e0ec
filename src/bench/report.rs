//! The report of `peff bench` (what it measured and the peak it compares against) and its
//! three renderings: a table stating the peak assumption, one CSV row, one JSON object.

use serde::Serialize;

use super::{
    BENCH_SHAPE, CONV_BENCH_BATCH, CONV_BENCH_CHANNELS, CONV_BENCH_LAYERS, FMNIST_BATCH,
    FMNIST_WIDTHS, MLP_BENCH_N, MLP_BENCH_WIDTHS, STUDENT_N,
};
use crate::export::Format;

/// What `peff bench` measured, and the peak it compares against (`--format json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Network-steps per second on one thread.
    pub steps_per_sec_1t: f64,
    /// Network-steps per second on `threads` threads together.
    pub steps_per_sec_all: f64,
    /// Threads of the multi-threaded measurements.
    pub threads: usize,
    /// `steps_per_sec_all / steps_per_sec_1t`.
    pub speedup: f64,
    /// Flops per network-step, counted by hand ([`flops_per_step`](super::flops_per_step); an
    /// FMA counts 2).
    pub flops_per_step: u64,
    /// Achieved GFLOP/s on one thread: `steps_per_sec_1t × flops_per_step / 1e9`.
    pub gflops_1t: f64,
    /// Achieved GFLOP/s on all threads.
    pub gflops_all: f64,
    /// Peak of one core, GFLOP/s: `max(clock_ghz × flops_per_cycle, fma_probe_gflops_1t)`.
    pub peak_gflops_1t: f64,
    /// Peak of the cores the threads can occupy, GFLOP/s:
    /// `max(min(threads, physical_cores) × clock_ghz × flops_per_cycle, fma_probe_gflops_all)`.
    pub peak_gflops: f64,
    /// Where the peak came from: the nominal formula, or the FMA probe when it measured more.
    pub peak_source: String,
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
    /// Where `flops_per_cycle` came from (`--flops-per-cycle` or the detected vector width).
    pub flops_per_cycle_source: String,
    /// Vector width of the FMA probe, bits.
    pub probe_vector_bits: u32,
    /// Physical cores assumed (their FMA units bound the peak).
    pub physical_cores: usize,
    /// How the physical core count was found.
    pub physical_cores_source: String,
    /// Logical CPUs the OS reports.
    pub logical_cpus: usize,
    /// Whether `/proc/cpuinfo` reports a hypervisor (a VM: its topology may hide SMT).
    pub virtualised: bool,
    /// CPU model name from /proc/cpuinfo (empty if unknown).
    pub cpu: String,
    /// Measured FMA probe throughput on one thread, GFLOP/s (`None`: no AVX2+FMA).
    pub fma_probe_gflops_1t: Option<f64>,
    /// Measured FMA probe throughput on `threads` threads together, GFLOP/s.
    pub fma_probe_gflops_all: Option<f64>,
    /// `gflops_1t / fma_probe_gflops_1t`: the trainer against the measured single-thread peak.
    pub probe_fraction_1t: Option<f64>,
    /// `gflops_all / fma_probe_gflops_all`.
    pub probe_fraction_all: Option<f64>,
    /// Networks per lockstep batch ([`LANES`](crate::experiments::toy::LANES)).
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
    /// Full-batch GD steps/s of the Fig. 1a MLP (`30-100-100-2`, `n = 30`, `f32`), 1 thread.
    pub mlp_steps_per_sec_1t: f64,
    /// `mlp_steps_per_sec_1t` over the rate of the same GEMMs alone (1 = GEMM-bound).
    pub mlp_gemm_fraction: f64,
    /// Full-batch Adam steps per second of the noise-correlation student (`f32`,
    /// `50-100-100-100-100-1`, `n = 1000`), one thread ([`crate::bench::mlp::measure`]).
    pub student_steps_per_sec_1t: f64,
    /// `student_steps_per_sec_1t` ÷ the rate of the same GEMMs alone (`matrixmultiply`, same
    /// shapes and strides, same run): 1 = the step costs only its GEMMs.
    pub student_gemm_fraction: f64,
    /// GEMM GFLOP/s reached inside the student step.
    pub student_gflops_1t: f64,
    /// Adam minibatch steps per second of the Figure 1(b) MLP (`784-200-200-10`, batch 64,
    /// `f32`, cross-entropy), one thread.
    pub fmnist_steps_per_sec_1t: f64,
    /// `fmnist_steps_per_sec_1t` ÷ the rate of the same GEMMs alone (`matrixmultiply`).
    pub fmnist_gemm_fraction: f64,
    /// Adam minibatch steps per second of the Figure 1(c) ConvNet (3 convolutions of 32
    /// channels and a linear layer, on `3 × 32 × 32` CIFAR-shaped images, batch 64, `f32`,
    /// cross-entropy), one thread ([`crate::bench::conv::measure`]).
    pub conv_steps_per_sec_1t: f64,
    /// The ConvNet's forward + backward passes per second ÷ the rate of the same GEMMs alone
    /// (`matrixmultiply`, same shapes and strides, same run).
    pub conv_gemm_fraction: f64,
    /// GEMM GFLOP/s reached inside the ConvNet's forward + backward pass.
    pub conv_gflops_1t: f64,
    /// `conv_steps_per_sec_1t` on `1 × 28 × 28` FashionMNIST-shaped images.
    pub conv_fmnist_steps_per_sec_1t: f64,
    /// `conv_gemm_fraction` on `1 × 28 × 28` FashionMNIST-shaped images.
    pub conv_fmnist_gemm_fraction: f64,
    /// The Figure 1(b) MLP's Adam steps per second on one thread by density (magnitude masks at
    /// init; density 1 and the ten grid densities `0.8^j`; [`crate::bench::sparse`]).
    pub fmnist_density_steps_per_sec_1t: Option<std::collections::BTreeMap<String, f64>>,
    /// Its sweep rate: a whole Figure 1(b) sweep's steps over its training time, weighted by
    /// the epochs of `results/memorize-fashion-mnist.json` ([`crate::bench::sparse`]).
    pub fmnist_sweep_steps_per_sec_1t: Option<f64>,
    /// The ConvNet's (CIFAR shape) steps per second by density, as
    /// `fmnist_density_steps_per_sec_1t`.
    pub conv_density_steps_per_sec_1t: Option<std::collections::BTreeMap<String, f64>>,
    /// The ConvNet's (CIFAR shape) sweep rate, weighted by the epochs of
    /// `results/memorize-conv-fashion-mnist.json`.
    pub conv_sweep_steps_per_sec_1t: Option<f64>,
    /// The same on `1 × 28 × 28` FashionMNIST-shaped images.
    pub conv_fmnist_density_steps_per_sec_1t: Option<std::collections::BTreeMap<String, f64>>,
    /// The same on `1 × 28 × 28` FashionMNIST-shaped images.
    pub conv_fmnist_sweep_steps_per_sec_1t: Option<f64>,
    /// Stochastic toy training (`peff stochastic`), minibatches of `B = 1`, network-steps/s on
    /// one thread (a step is one minibatch update).
    pub sgd_b1_steps_per_sec_1t: f64,
    /// Its flops per second over full batch's: `rate_B · flops(B) / (rate_n · flops(n))`
    /// (1 = a minibatch step costs no more per flop than a full-batch step).
    pub sgd_b1_flop_ratio: f64,
    /// The same at `B = 3`.
    pub sgd_b3_steps_per_sec_1t: f64,
    /// Its flop ratio.
    pub sgd_b3_flop_ratio: f64,
    /// Full batch with gradient noise `σ² = 0.01` (a normal per parameter per step), one thread.
    pub noisy_steps_per_sec_1t: f64,
    /// `noisy_steps_per_sec_1t / steps_per_sec_1t` (same flops, plus the noise).
    pub noisy_ratio: f64,
    /// peff's version.
    pub peff_version: &'static str,
}

/// The report as text: a readable table stating the peak assumption, one CSV row, or one JSON
/// object (the fields of [`BenchReport`]; docs/methods.md §9 lists `steps_per_sec_1t`,
/// `steps_per_sec_all`, `threads`, `flops_per_step` and `peak_fraction_1t`).
pub fn render(report: &BenchReport, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(report)? + "\n"),
        Format::Csv => crate::export::to_csv(std::slice::from_ref(report)),
        Format::Table => Ok(table(report)),
    }
}

fn table(r: &BenchReport) -> String {
    let s = &BENCH_SHAPE;
    let cores_all = r.threads.min(r.physical_cores);
    let plural = |k: usize, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
    let mut lines = vec![
        format!(
            "toy trainer: {} (d={}, h={}, o={}), n={}, {} lanes in lockstep, {} steps per run",
            r.task, s.input_dim, s.hidden, s.outputs, r.n, r.lanes, r.steps_per_run
        ),
        format!(
            "cpu: {}, {} logical CPUs, {}{}",
            if r.cpu.is_empty() { "unknown" } else { &r.cpu },
            r.logical_cpus,
            plural(r.physical_cores, "physical core"),
            if r.virtualised {
                " (virtual machine)"
            } else {
                ""
            }
        ),
        format!(
            "flops per network-step: {} (counted by hand, FMA = 2)",
            r.flops_per_step
        ),
        String::new(),
        format!(
            "{:<8} {:>16} {:>9} {:>11} {:>10} {:>11} {:>10}",
            "threads",
            "network-steps/s",
            "GFLOP/s",
            "peak GF/s",
            "% of peak",
            "probe GF/s",
            "% of probe"
        ),
    ];
    let rows = [
        (
            1,
            r.steps_per_sec_1t,
            r.gflops_1t,
            r.peak_gflops_1t,
            r.peak_fraction_1t,
            r.fma_probe_gflops_1t,
        ),
        (
            r.threads,
            r.steps_per_sec_all,
            r.gflops_all,
            r.peak_gflops,
            r.peak_fraction_all,
            r.fma_probe_gflops_all,
        ),
    ];
    for (threads, steps, gflops, peak, fraction, probe) in rows {
        let (probe, of_probe) = match probe {
            Some(p) => (format!("{p:.2}"), format!("{:.2}%", 100.0 * gflops / p)),
            None => ("-".to_string(), "-".to_string()),
        };
        lines.push(format!(
            "{threads:<8} {steps:>16.4e} {gflops:>9.3} {peak:>11.2} {:>9.2}% {probe:>11} {of_probe:>10}",
            100.0 * fraction
        ));
    }
    lines.push(format!(
        "speedup {} / 1 thread: {:.2}x",
        plural(r.threads, "thread"),
        r.speedup
    ));
    lines.push(format!(
        "stochastic (1 thread): B = 1 {:.4e} steps/s ({:.2}x full batch per flop), B = 3 {:.4e} ({:.2}x), noise σ² = 0.01 {:.4e} ({:.2}x full batch)",
        r.sgd_b1_steps_per_sec_1t,
        r.sgd_b1_flop_ratio,
        r.sgd_b3_steps_per_sec_1t,
        r.sgd_b3_flop_ratio,
        r.noisy_steps_per_sec_1t,
        r.noisy_ratio
    ));
    for (name, sweep, rates) in [
        (
            "Fig. 1(b) MLP 784-200-200-10",
            r.fmnist_sweep_steps_per_sec_1t,
            &r.fmnist_density_steps_per_sec_1t,
        ),
        (
            "ConvNet 3x32x32",
            r.conv_sweep_steps_per_sec_1t,
            &r.conv_density_steps_per_sec_1t,
        ),
        (
            "ConvNet 1x28x28",
            r.conv_fmnist_sweep_steps_per_sec_1t,
            &r.conv_fmnist_density_steps_per_sec_1t,
        ),
    ] {
        if let (Some(sweep), Some(rates)) = (sweep, rates) {
            let by_density: Vec<String> = rates
                .iter()
                .rev()
                .map(|(d, v)| format!("{d}: {v:.4e}"))
                .collect();
            lines.push(format!(
                "{name} (f32, batch 64, Adam, 1 thread): sweep {sweep:.4e} steps/s; by density (magnitude at init) {}",
                by_density.join(", ")
            ));
        }
    }
    lines.push(String::new());
    lines.push(format!(
        "nominal peak (1 thread) = 1 core x {:.3} GHz x {} flops/cycle = {:.2} GFLOP/s",
        r.clock_ghz,
        r.flops_per_cycle,
        r.clock_ghz * r.flops_per_cycle
    ));
    lines.push(format!(
        "nominal peak ({}) = {} x {:.3} GHz x {} flops/cycle = {:.2} GFLOP/s",
        plural(r.threads, "thread"),
        plural(cores_all, "core"),
        r.clock_ghz,
        r.flops_per_cycle,
        cores_all as f64 * r.clock_ghz * r.flops_per_cycle
    ));
    lines.push(format!(
        "peak used: {:.2} GFLOP/s (1 thread), {:.2} ({}); from the {}",
        r.peak_gflops_1t,
        r.peak_gflops,
        plural(r.threads, "thread"),
        r.peak_source
    ));
    lines.push(format!(
        "  clock: {} (nominal; boost clocks exceed it)",
        r.clock_source
    ));
    lines.push(format!(
        "  flops/cycle: {} ({}; --flops-per-cycle overrides)",
        r.flops_per_cycle, r.flops_per_cycle_source
    ));
    lines.push(format!(
        "  cores: threads share the FMA units of a core; physical cores from {}",
        r.physical_cores_source
    ));
    if let (Some(one), Some(all)) = (r.fma_probe_gflops_1t, r.fma_probe_gflops_all) {
        lines.push(format!(
            "probe: independent {}-bit FMA chains reach {one:.2} GFLOP/s on 1 thread \
             (= {:.2} GHz x {} flops/cycle) and {all:.2} on {} ({:.2}x)",
            r.probe_vector_bits,
            one / r.flops_per_cycle,
            r.flops_per_cycle,
            plural(r.threads, "thread"),
            all / one
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "MLP core (f32, 1 thread): {} on n={}, one full-batch GD step: {:.4e} steps/s, {:.1}% of the same GEMMs alone",
        MLP_BENCH_WIDTHS.map(|w| w.to_string()).join("-"),
        MLP_BENCH_N,
        r.mlp_steps_per_sec_1t,
        100.0 * r.mlp_gemm_fraction
    ));
    lines.push(format!(
        "noise-corr student (f32, 50-100-100-100-100-1, n={STUDENT_N}, full-batch Adam, 1 thread): \
         {:.1} steps/s = {:.2} GFLOP/s of GEMM, {:.1}% of matrixmultiply's rate on the same GEMMs",
        r.student_steps_per_sec_1t,
        r.student_gflops_1t,
        100.0 * r.student_gemm_fraction
    ));
    lines.push(format!(
        "Figure 1(b) MLP (f32, {}, Adam minibatch of {FMNIST_BATCH}, 1 thread): {:.1} steps/s, \
         {:.1}% of matrixmultiply's rate on the same GEMMs",
        FMNIST_WIDTHS.map(|w| w.to_string()).join("-"),
        r.fmnist_steps_per_sec_1t,
        100.0 * r.fmnist_gemm_fraction
    ));
    lines.push(format!(
        "Figure 1(c) ConvNet (f32, {CONV_BENCH_LAYERS} layers of {CONV_BENCH_CHANNELS} channels, Adam minibatch of {CONV_BENCH_BATCH}, 1 thread): \
         {:.2} steps/s on 3x32x32 = {:.1} GFLOP/s of GEMM, {:.1}% of matrixmultiply's rate on the same GEMMs; \
         {:.2} steps/s on 1x28x28 ({:.1}%)",
        r.conv_steps_per_sec_1t,
        r.conv_gflops_1t,
        100.0 * r.conv_gemm_fraction,
        r.conv_fmnist_steps_per_sec_1t,
        100.0 * r.conv_fmnist_gemm_fraction
    ));
    if let (Some(wall), Some(datasets)) = (r.exact_wall_seconds, r.exact_datasets) {
        lines.push(String::new());
        lines.push(format!(
            "peff exact (regression, n=6, T=2000, all six methods, {datasets} datasets, {}): {wall:.2} s",
            plural(r.threads, "thread")
        ));
    }
    lines.join("\n") + "\n"
}
