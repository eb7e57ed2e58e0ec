//! How fast one training step of the ConvNet runs, against the GEMMs it is made of.
//!
//! ```text
//! gradient = forward + backward of the mean loss on one batch of n images (Model::gradient)
//! step     = gradient + one Adam update (the shared Trainer's minibatch step)
//! GEMMs    = the same matrix products with the same shapes, strides and β, alone (no im2col,
//!            col2im, bias, ReLU, gate, loss or update): per image and convolution, forward
//!            W_l col (C_l × K_l × HW), ∇W_l += δ_l colᵀ (C_l × HW × K_l) and, above the first,
//!            W_lᵀ δ_l (K_l × C_l × HW); per batch, the linear layer's three products
//! flops    = 2 × the multiply-adds of those GEMMs (3 × forward minus the first layer's input
//!            gradient: 118.8 MFLOP per CIFAR image for the paper's network, SPEC §7)
//! gemm_fraction = gradients/s ÷ GEMM-sets/s   (1 = the pass costs only its GEMMs)
//! ```
//!
//! The timing is `bench::timing`'s (best of interleaved blocks, on the calling thread;
//! `matrixmultiply` runs single-threaded). `peff bench` reports the paper's network on
//! CIFAR-shaped inputs as `conv_steps_per_sec_1t` and `conv_gemm_fraction`.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::timing::{best_rates, flops, GemmCall, GemmReplay};
use crate::model::conv::{Conv, ConvError};
use crate::model::{Dataset, Loss, Model, Optimizer, Scalar, Targets, TrainConfig, Trainer};

/// What [`measure`] found.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConvBenchReport {
    /// Input shape `[C, H, W]`.
    pub in_shape: [usize; 3],
    /// Weight layers `L`.
    pub depth: usize,
    /// Channels `N`.
    pub channels: usize,
    /// Images per step.
    pub batch: usize,
    /// `"f32"` or `"f64"`.
    pub precision: String,
    /// Forward + backward passes per second (no optimizer update).
    pub gradients_per_sec: f64,
    /// Minibatch Adam steps per second (gradient and update) through the shared trainer.
    pub adam_steps_per_sec: f64,
    /// Sets of the pass's GEMMs per second, alone.
    pub gemm_sets_per_sec: f64,
    /// `gradients_per_sec / gemm_sets_per_sec`.
    pub gemm_fraction: f64,
    /// GEMM flops per forward + backward pass (module docs).
    pub flops_per_step: u64,
    /// GEMM rate reached inside the gradient pass, GFLOP/s.
    pub gradient_gflops: f64,
    /// GEMM rate of the GEMMs alone, GFLOP/s.
    pub gemm_gflops: f64,
}

/// The GEMM calls of one forward + backward pass on `n` images, in order (module docs).
fn calls(conv: &Conv, n: usize) -> Vec<GemmCall> {
    let hw = conv.plane();
    let lin = conv.linear_layer();
    let (d, o) = (lin.inputs, lin.outputs);
    let mut calls = Vec::new();
    for l in conv.conv_layers() {
        for _ in 0..n {
            calls.push(GemmCall {
                m: l.outputs,
                k: l.fan_in,
                n: hw,
                a: (l.fan_in, 1),
                b: (hw, 1),
                c: (hw, 1),
                accumulate: false,
            });
        }
    }
    let linear = [
        (n, d, o, (d, 1), (1, d), (o, 1)),
        (o, n, d, (1, o), (d, 1), (d, 1)),
        (n, o, d, (o, 1), (d, 1), (d, 1)),
    ];
    for (m, k, nn, a, b, c) in linear {
        calls.push(GemmCall {
            m,
            k,
            n: nn,
            a,
            b,
            c,
            accumulate: false,
        });
    }
    for (idx, l) in conv.conv_layers().iter().enumerate().rev() {
        for i in 0..n {
            calls.push(GemmCall {
                m: l.outputs,
                k: hw,
                n: l.fan_in,
                a: (hw, 1),
                b: (1, hw),
                c: (l.fan_in, 1),
                accumulate: i > 0,
            });
            if idx > 0 {
                calls.push(GemmCall {
                    m: l.fan_in,
                    k: l.outputs,
                    n: hw,
                    a: (1, l.fan_in),
                    b: (hw, 1),
                    c: (hw, 1),
                    accumulate: false,
                });
            }
        }
    }
    calls
}

/// GEMM flops of one forward + backward pass on `n` images (module docs).
pub fn flops_per_step(conv: &Conv, n: usize) -> u64 {
    flops(&calls(conv, n))
}

/// Measures the ConvNet `in_shape`, `depth`, `channels`, 10 classes, cross-entropy, on one
/// batch of `batch` images (inputs `U(0, 1)`, random labels, init seed 0) in precision `T`:
/// forward + backward passes, minibatch Adam steps at 1e-3, and the same GEMMs alone, for
/// about `budget` of wall time in all, on the calling thread.
///
/// # Errors
/// If the shape is not a valid [`Conv`] (see [`Conv::new`]).
pub fn measure<T: Scalar>(
    in_shape: [usize; 3],
    depth: usize,
    channels: usize,
    batch: usize,
    budget: Duration,
) -> Result<ConvBenchReport, ConvError> {
    let conv = Conv::new(in_shape, depth, channels, 10, Loss::CrossEntropy)?;
    let batch = batch.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x: Vec<T> = (0..batch * conv.input_len())
        .map(|_| T::from_f64(rng.random_range(0.0..1.0)))
        .collect();
    let labels = (0..batch).map(|_| rng.random_range(0..10)).collect();
    let data = Dataset::new(&conv, x, Targets::Classes(labels))
        .expect("the inputs and labels are built for this network");
    let params: Vec<T> = conv
        .init_params(0)
        .iter()
        .map(|&v| T::from_f64(v))
        .collect();
    let mut ws = conv.workspace::<T>(batch);
    let mut grad = vec![T::ZERO; params.len()];
    let mut gradient = || {
        conv.gradient(&params, data.batch(), 1.0, &mut ws, &mut grad);
    };
    // Two equal minibatches per epoch, so that the trainer takes its minibatch path.
    let mut twice = data.inputs().to_vec();
    twice.extend_from_slice(data.inputs());
    let classes = match data.targets() {
        crate::model::TargetsRef::Classes(c) => c.repeat(2),
        crate::model::TargetsRef::Values(_) => unreachable!("cross-entropy data"),
    };
    let data2 = Dataset::new(&conv, twice, Targets::Classes(classes))
        .expect("the inputs and labels are built for this network");
    let config = TrainConfig {
        batch_size: Some(batch),
        ..TrainConfig::full_batch(Optimizer::adam(1e-3))
    };
    let mut trainer = Trainer::<Conv, T>::new(&conv, config, 2 * batch);
    trainer.reset(&params, None);
    let mut adam_epoch = || {
        trainer.epoch(&data2);
    };
    let mut gemms = GemmReplay::<T>::new(calls(&conv, batch));
    let best = best_rates(
        budget,
        &mut [&mut gradient, &mut adam_epoch, &mut || gemms.run()],
    );
    // An epoch of `data2` is two Adam steps.
    let best = [best[0], 2.0 * best[1], best[2]];
    let flops = flops_per_step(&conv, batch);
    Ok(ConvBenchReport {
        in_shape,
        depth,
        channels,
        batch,
        precision: T::NAME.to_string(),
        gradients_per_sec: best[0],
        adam_steps_per_sec: best[1],
        gemm_sets_per_sec: best[2],
        gemm_fraction: best[0] / best[2],
        flops_per_step: flops,
        gradient_gflops: best[0] * flops as f64 / 1e9,
        gemm_gflops: best[2] * flops as f64 / 1e9,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_of_the_paper_network() {
        let conv = Conv::new([3, 32, 32], 4, 32, 10, Loss::CrossEntropy).unwrap();
        // forward 20,086,784 MACs; ∇W the same; input gradients of layers 2, 3 and the linear.
        let macs = 2 * 20_086_784 + 2 * 32 * 288 * 1024 + 10 * 32_768;
        assert_eq!(flops_per_step(&conv, 1), 2 * macs as u64);
        assert_eq!(flops_per_step(&conv, 64), 64 * 2 * macs as u64);
        assert!((2.0 * macs as f64 / 1e6 - 118.8).abs() < 0.05);
    }

    #[test]
    fn measure_reports_positive_rates() {
        let r = measure::<f32>([2, 5, 4], 3, 3, 4, Duration::from_millis(20)).unwrap();
        assert!(r.gradients_per_sec > 0.0 && r.adam_steps_per_sec > 0.0);
        assert!(r.gemm_sets_per_sec > 0.0 && r.gemm_fraction.is_finite());
        assert!(measure::<f64>([0, 5, 4], 3, 3, 4, Duration::from_millis(1)).is_err());
    }
}
