//! What `peff bench` knows of the CPU it runs on: the widest f64 FMA vector it has (and the
//! flops per cycle that gives), the FMA throughput probe, and the core count and clock of
//! `/proc/cpuinfo`.
//!
//! ```text
//! flops/cycle = 2 FMA units × f64 lanes × 2   (lanes: 8 with AVX-512, 4 with AVX2 + FMA)
//! probe       = 12 independent chains of vfmadd at the widest vector width, timed
//! ```

use std::hint::black_box;

/// FMA throughput of 256-bit AVX2: 2 FMA units × 4 f64 lanes × 2 flops per FMA.
pub const AVX2_FLOPS_PER_CYCLE: f64 = 16.0;

/// Float64 flops per cycle per core from the detected vector width (2 FMA units × f64 lanes × 2
/// flops per FMA) and a description of where it came from.
pub fn detected_flops_per_cycle() -> (f64, String) {
    let bits = vector_bits();
    let lanes = (bits / 64).max(1);
    (
        (2 * lanes * 2) as f64,
        format!("detected {bits}-bit vectors: 2 FMA units x {lanes} f64 x 2"),
    )
}

/// Widest f64 FMA vector the CPU runs: 512 with AVX-512F, 256 with AVX2+FMA, else 128.
pub fn vector_bits() -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return 512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return 256;
        }
    }
    128
}
/// Flops of one [`fma_probe`] call.
const PROBE_FLOPS: u64 = PROBE_ITERS * PROBE_CHAINS as u64 * 4 * 2;
const PROBE_FLOPS_512: u64 = PROBE_ITERS * PROBE_CHAINS as u64 * 8 * 2;
const PROBE_ITERS: u64 = 1 << 14;
/// Independent FMA chains: more than latency (4–5 cycles) × FMA units (2), fewer than the 16
/// vector registers.
const PROBE_CHAINS: usize = 12;

/// The FMA throughput probe: [`PROBE_CHAINS`] independent chains of `vfmadd` at the widest
/// vector the CPU runs (512-bit, 8 f64, with AVX-512F; else 256-bit, 4 f64), the best case the
/// peak formula assumes; returns its flops (`None` without AVX2+FMA).
pub(super) fn fma_probe() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features `fma_chains_512` is compiled for.
            black_box(unsafe { fma_chains_512() });
            return Some(PROBE_FLOPS_512);
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features `fma_chains` is compiled for (checked above).
            black_box(unsafe { fma_chains() });
            return Some(PROBE_FLOPS);
        }
    }
    None
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_chains_512() -> f64 {
    use std::arch::x86_64::{_mm512_add_pd, _mm512_fmadd_pd, _mm512_reduce_add_pd, _mm512_set1_pd};
    let a = _mm512_set1_pd(black_box(0.999_999));
    let b = _mm512_set1_pd(black_box(1e-9));
    let mut acc = [_mm512_set1_pd(black_box(1.0)); PROBE_CHAINS];
    for _ in 0..PROBE_ITERS {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_pd(*v, a, b);
        }
    }
    _mm512_reduce_add_pd(
        acc.into_iter()
            .fold(_mm512_set1_pd(0.0), |s, v| _mm512_add_pd(s, v)),
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains() -> f64 {
    use std::arch::x86_64::{_mm256_add_pd, _mm256_cvtsd_f64, _mm256_fmadd_pd, _mm256_set1_pd};
    let a = _mm256_set1_pd(black_box(0.999_999));
    let b = _mm256_set1_pd(black_box(1e-9));
    let mut acc = [_mm256_set1_pd(black_box(1.0)); PROBE_CHAINS];
    for _ in 0..PROBE_ITERS {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_pd(*v, a, b);
        }
    }
    _mm256_cvtsd_f64(
        acc.into_iter()
            .fold(_mm256_set1_pd(0.0), |s, v| _mm256_add_pd(s, v)),
    )
}

/// What `/proc/cpuinfo` says about the CPU.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct CpuInfo {
    pub(super) model: String,
    /// Largest `cpu MHz`.
    pub(super) mhz: Option<f64>,
    /// Distinct `(physical id, core id)` pairs, or `cpu cores` when those are missing.
    pub(super) cores: Option<usize>,
    /// `processor` entries.
    pub(super) logical: usize,
    /// The `hypervisor` flag is set.
    pub(super) virtualised: bool,
}

impl CpuInfo {
    pub(super) fn parse(text: &str) -> Self {
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

    pub(super) fn read() -> Self {
        std::fs::read_to_string("/proc/cpuinfo")
            .map_or_else(|_| CpuInfo::default(), |t| CpuInfo::parse(&t))
    }
}

/// Physical cores and how they were found: the flag, else `/proc/cpuinfo`, else one per
/// logical CPU.
pub(super) fn physical_cores(flag: usize, info: &CpuInfo, logical: usize) -> (usize, String) {
    if flag > 0 {
        return (flag, "--physical-cores".to_string());
    }
    match info.cores {
        Some(cores) => (
            cores.max(1),
            "/proc/cpuinfo (distinct physical id/core id pairs)".to_string(),
        ),
        None => (
            logical,
            "assumed one per logical CPU (no topology in /proc/cpuinfo)".to_string(),
        ),
    }
}
