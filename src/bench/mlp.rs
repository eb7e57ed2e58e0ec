//! How fast one training step of the MLP core runs, against the GEMMs it is made of.
//!
//! ```text
//! step    = one full-batch optimizer step (forward, backward, update) of a d-w-…-o MLP on n points
//! GEMMs   = the same matrix products with the same shapes and strides, alone (no bias, ReLU,
//!           loss, gate or update): forward A_{l−1} W_lᵀ (L calls), backward δ_lᵀ A_{l−1} (L)
//!           and δ_l W_l (L − 1)
//! flops   = 2 n (2 Σ_l w_l w_{l−1} + Σ_{l≥2} w_l w_{l−1})   (multiply-adds × 2, GEMMs only)
//! gemm_fraction = steps/s ÷ GEMM-sets/s   (1 = the step costs only its GEMMs)
//! ```
//!
//! The timing is `bench::timing`'s: the GEMMs replayed alone on one buffer per operand, each
//! rate the best of interleaved timed blocks, on one thread. `peff bench` reports them as `mlp_steps_per_sec_1t` and
//! `mlp_gemm_fraction`.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::timing::{best_rates, flops, GemmCall, GemmReplay};
use crate::model::mlp::{Mlp, MlpError};
use crate::model::{Dataset, Loss, Model, Optimizer, Scalar, Targets, TrainConfig, Trainer};

/// What [`measure`] found.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpBenchReport {
    /// Widths `d, w_1, …, o`.
    pub widths: Vec<usize>,
    /// Points per step (full batch).
    pub n: usize,
    /// `"f32"` or `"f64"`.
    pub precision: String,
    /// Optimizer steps per second on one thread.
    pub steps_per_sec: f64,
    /// Sets of the step's GEMMs per second, alone, on one thread.
    pub gemm_sets_per_sec: f64,
    /// `steps_per_sec / gemm_sets_per_sec`.
    pub gemm_fraction: f64,
    /// GEMM flops per step (module docs).
    pub flops_per_step: u64,
    /// GEMM rate reached inside the step, GFLOP/s.
    pub step_gflops: f64,
    /// GEMM rate of the GEMMs alone, GFLOP/s.
    pub gemm_gflops: f64,
}

/// The GEMM calls of one full-batch step, in order (module docs).
fn calls(mlp: &Mlp, n: usize) -> Vec<GemmCall> {
    let mut calls = Vec::new();
    for l in mlp.layers() {
        calls.push(GemmCall::new(
            (n, l.inputs, l.outputs),
            (l.inputs, 1),
            (1, l.inputs),
            (l.outputs, 1),
        ));
    }
    for (i, l) in mlp.layers().iter().enumerate().rev() {
        calls.push(GemmCall::new(
            (l.outputs, n, l.inputs),
            (1, l.outputs),
            (l.inputs, 1),
            (l.inputs, 1),
        ));
        if i > 0 {
            calls.push(GemmCall::new(
                (n, l.outputs, l.inputs),
                (l.outputs, 1),
                (l.inputs, 1),
                (l.inputs, 1),
            ));
        }
    }
    calls
}

/// GEMM flops of one full-batch step on `n` points (module docs).
pub fn flops_per_step(mlp: &Mlp, n: usize) -> u64 {
    flops(&calls(mlp, n))
}

/// The benchmarked network: the MLP `widths` on `n` points with constant seeds (inputs
/// `U(−1, 1)`, init seed 0); softmax cross-entropy on random labels when it has ≥ 2 outputs,
/// else MSE on `U(−1, 1)` targets; reset for full-batch training with `optimizer`.
///
/// # Errors
/// If `widths` is not a valid MLP (see [`Mlp::new`]) or `n` is 0.
pub fn setup<T: Scalar>(
    widths: &[usize],
    n: usize,
    optimizer: Optimizer,
) -> Result<(Trainer<Mlp, T>, Dataset<T>), MlpError> {
    let classes = widths.last().copied().unwrap_or(0) >= 2;
    let loss = if classes {
        Loss::CrossEntropy
    } else {
        Loss::Mse
    };
    let mlp = Mlp::new(widths, loss)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x: Vec<T> = (0..n * mlp.input_dim())
        .map(|_| T::from_f64(rng.random_range(-1.0..1.0)))
        .collect();
    let targets = if classes {
        Targets::Classes((0..n).map(|_| rng.random_range(0..mlp.outputs())).collect())
    } else {
        Targets::Values(
            (0..n * mlp.outputs())
                .map(|_| T::from_f64(rng.random_range(-1.0..1.0)))
                .collect(),
        )
    };
    let data = Dataset::new(&mlp, x, targets)?;
    let init: Vec<T> = mlp.init_params(0).iter().map(|&v| T::from_f64(v)).collect();
    let mut trainer = Trainer::new(&mlp, TrainConfig::full_batch(optimizer), n);
    trainer.reset(&init, None);
    Ok((trainer, data))
}

/// Measures one full-batch step with `optimizer` of [`setup`]'s network in precision `T`, and
/// the same GEMMs alone, for about `budget` of wall time in all, on the calling thread
/// (Fig. 1a: `measure::<f32>(&[30, 100, 100, 2], 30, Optimizer::sgd(1e-2), …)`).
///
/// # Errors
/// As [`setup`].
pub fn measure<T: Scalar>(
    widths: &[usize],
    n: usize,
    optimizer: Optimizer,
    budget: Duration,
) -> Result<MlpBenchReport, MlpError> {
    let (mut trainer, data) = setup::<T>(widths, n, optimizer)?;
    let mlp = trainer.model().clone();
    let mut gemms = GemmReplay::<T>::new(calls(&mlp, n));
    let rates = best_rates(
        budget,
        &mut [
            &mut || {
                trainer.step(data.batch());
            },
            &mut || gemms.run(),
        ],
    );
    let (steps_per_sec, gemm_sets_per_sec) = (rates[0], rates[1]);
    let flops = flops_per_step(&mlp, n);
    Ok(MlpBenchReport {
        widths: widths.to_vec(),
        n,
        precision: T::NAME.to_string(),
        steps_per_sec,
        gemm_sets_per_sec,
        gemm_fraction: steps_per_sec / gemm_sets_per_sec,
        flops_per_step: flops,
        step_gflops: steps_per_sec * flops as f64 / 1e9,
        gemm_gflops: gemm_sets_per_sec * flops as f64 / 1e9,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_of_the_figure_1a_network() {
        let mlp = Mlp::new(&[30, 100, 100, 2], Loss::CrossEntropy).unwrap();
        // forward + ∇W: 2 · 2 · 30 · (3000 + 10000 + 200); δW for layers 2, 3: 2 · 30 · 10200.
        assert_eq!(flops_per_step(&mlp, 30), 4 * 30 * 13_200 + 2 * 30 * 10_200);
    }

    #[test]
    fn measure_reports_positive_rates() {
        let sgd = Optimizer::sgd(1e-2);
        let r = measure::<f32>(&[4, 8, 2], 5, sgd, Duration::from_millis(20)).unwrap();
        assert!(r.steps_per_sec > 0.0 && r.gemm_sets_per_sec > 0.0);
        assert!(r.gemm_fraction.is_finite());
        let r = measure::<f64>(
            &[4, 8, 1],
            5,
            Optimizer::adam(1e-3),
            Duration::from_millis(20),
        );
        assert!(r.unwrap().steps_per_sec > 0.0);
        assert!(measure::<f32>(&[4, 0, 2], 5, sgd, Duration::from_millis(1)).is_err());
    }
}
