//! How training cost follows the kept weights: Adam step rates of a pruned network at the
//! densities of a Figure 1 sweep, and the sweep's rate.
//!
//! ```text
//! mask at density ρ   = magnitude pruning at init: the k = ⌈ρ · |weights|⌉ largest |θ0| kept
//!                       (weights of every layer ranked together, ties to the lower index)
//! rate r(ρ)           = Adam minibatch steps per second on one thread (bench::timing's best
//!                       interleaved block), ρ = 1 and the ten grid densities 0.8^j, j = 3, 6, …, 30
//! sweep rate          = Σ_runs e_run / Σ_runs (e_run / r(ρ_run))
//!     runs: the dense run; each of the six methods at the ten grid densities; IMP's levels
//!     j = 1, 2, 4, 5, … off the grid (rate of the nearest measured density, in log ρ);
//!     e_run: the mean epochs per run that the committed result records for its method
//!     ([`SweepEpochs`])
//! ```
//!
//! Every run of a sweep trains on the same data, so steps per epoch cancel: the sweep rate is the
//! epoch-weighted harmonic mean of the step rates, what a whole Figure 1 sweep's steps divided by
//! its training time would give.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::timing::best_rates;
use crate::model::{Dataset, Model, Optimizer, Scalar, Targets, TargetsRef, TrainConfig, Trainer};

/// IMP's levels of the Figure 1 sweeps: density `0.8^j`, `j = 1..=30`; the grid is every third.
const IMP_LEVELS: usize = 30;

/// Mean training epochs per run that a committed Figure 1 result records: the dense run, then the
/// six methods in the order random, SynFlow, magnitude, IMP, SNIP, GraSP (the `summary` of its
/// JSON).
#[derive(Clone, Copy, Debug)]
pub struct SweepEpochs {
    /// The dense run's mean epochs.
    pub dense: f64,
    /// Each method's mean epochs per run.
    pub methods: [f64; 6],
}

/// `results/memorize-fashion-mnist.json` (Fig. 1b, 10,000 images, 10 seeds), `summary`.
pub const FMNIST_SWEEP_EPOCHS: SweepEpochs = SweepEpochs {
    dense: 7.9,
    methods: [12.47, 12.59, 9.03, 8.11, 10.76, 11.1],
};

/// `results/memorize-conv-fashion-mnist.json` (Fig. 1c, 1,000 images, 3 seeds), `summary`.
pub const CONV_SWEEP_EPOCHS: SweepEpochs = SweepEpochs {
    dense: 9.67,
    methods: [6.17, 11.8, 7.1, 7.3, 10.77, 4.77],
};

/// Step rates by density and the sweep rate of one network.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweepRates {
    /// Adam steps per second on one thread, by density (`1` and the grid `0.8^j`, printed to
    /// four significant digits).
    pub density_steps_per_sec: BTreeMap<String, f64>,
    /// The sweep rate (module docs).
    pub sweep_steps_per_sec: f64,
    /// Steps per second at density 1 over those at the sparsest grid density.
    pub sparsest_speedup: f64,
}

/// The grid densities `0.8^j`, `j = 3, 6, …, 30`.
pub fn grid() -> Vec<f64> {
    (1..=IMP_LEVELS / 3)
        .map(|i| 0.8f64.powi(3 * i as i32))
        .collect()
}

/// The mask of magnitude pruning at init keeping `k` of `weights` (module docs).
fn magnitude_mask(params: &[f64], weights: &[usize], k: usize) -> Vec<bool> {
    let mut order: Vec<usize> = weights.to_vec();
    order.sort_by(|&a, &b| params[b].abs().total_cmp(&params[a].abs()).then(a.cmp(&b)));
    let mut mask = vec![true; params.len()];
    for &i in &order[k..] {
        mask[i] = false;
    }
    mask
}

/// Measures `model` on one minibatch of `batch` random points (inputs `U(0, 1)`, random labels,
/// init seed 0, `f32`-or-`f64` `T`), stepped as two minibatches of an epoch, at density 1 and the
/// grid, for about `budget` in all; `epochs` weights the sweep.
pub fn measure<M: Model, T: Scalar>(
    model: &M,
    batch: usize,
    epochs: SweepEpochs,
    budget: Duration,
) -> SweepRates {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x: Vec<T> = (0..2 * batch * model.input_len())
        .map(|_| T::from_f64(rng.random_range(0.0..1.0)))
        .collect();
    let labels: Vec<usize> = (0..2 * batch)
        .map(|_| rng.random_range(0..model.outputs()))
        .collect();
    let data = Dataset::new(model, x, Targets::Classes(labels))
        .expect("the inputs and labels are built for this network");
    let init = model.init_params(0);
    let start: Vec<T> = init.iter().map(|&v| T::from_f64(v)).collect();
    let weights = model.weight_indices();
    let config = TrainConfig {
        batch_size: Some(batch),
        ..TrainConfig::full_batch(Optimizer::adam(1e-3))
    };
    let densities: Vec<f64> = std::iter::once(1.0).chain(grid()).collect();
    let mut trainers: Vec<Trainer<M, T>> = densities
        .iter()
        .map(|&rho| {
            let mut t = Trainer::new(model, config, data.len());
            let mask = (rho < 1.0).then(|| {
                let k = ((rho * weights.len() as f64).ceil() as usize).clamp(1, weights.len());
                magnitude_mask(&init, &weights, k)
            });
            t.reset(&start, mask.as_deref());
            t
        })
        .collect();
    let (d, rows) = (model.input_len(), batch);
    let first = &data.inputs()[..rows * d];
    let classes = match data.targets() {
        TargetsRef::Classes(c) => &c[..rows],
        TargetsRef::Values(_) => unreachable!("classes"),
    };
    let step_batch = crate::model::Batch::from_parts(first, TargetsRef::Classes(classes), rows);
    let mut closures: Vec<Box<dyn FnMut() + '_>> = trainers
        .iter_mut()
        .map(|t| {
            Box::new(move || {
                t.step(step_batch);
            }) as Box<dyn FnMut()>
        })
        .collect();
    let mut refs: Vec<&mut dyn FnMut()> = closures
        .iter_mut()
        .map(|c| c.as_mut() as &mut dyn FnMut())
        .collect();
    let rates = best_rates(budget, &mut refs);
    SweepRates {
        density_steps_per_sec: densities
            .iter()
            .zip(&rates)
            .map(|(&rho, &r)| (format!("{rho:.4}"), r))
            .collect(),
        sweep_steps_per_sec: sweep_rate(&densities, &rates, epochs),
        sparsest_speedup: rates[rates.len() - 1] / rates[0],
    }
}

/// The sweep rate from the rates at `densities` (1, then the grid) (module docs).
pub fn sweep_rate(densities: &[f64], rates: &[f64], epochs: SweepEpochs) -> f64 {
    let rate_at = |rho: f64| {
        let nearest = densities
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (a.1.ln() - rho.ln())
                    .abs()
                    .total_cmp(&(b.1.ln() - rho.ln()).abs())
            })
            .map_or(0, |(i, _)| i);
        rates[nearest]
    };
    let mut runs: Vec<(f64, f64)> = vec![(epochs.dense, 1.0)];
    for (m, &e) in epochs.methods.iter().enumerate() {
        let imp = m == 3;
        for j in 1..=IMP_LEVELS {
            if imp || j % 3 == 0 {
                runs.push((e, 0.8f64.powi(j as i32)));
            }
        }
    }
    let steps: f64 = runs.iter().map(|r| r.0).sum();
    let time: f64 = runs.iter().map(|&(e, rho)| e / rate_at(rho)).sum();
    steps / time
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_rate_is_the_epoch_weighted_harmonic_mean() {
        let densities: Vec<f64> = std::iter::once(1.0).chain(grid()).collect();
        let flat = vec![5.0; densities.len()];
        let epochs = SweepEpochs {
            dense: 2.0,
            methods: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        assert!((sweep_rate(&densities, &flat, epochs) - 5.0).abs() < 1e-12);
        // Dense runs at rate 1, every sparse run at rate 2: dense epochs are the dense run's
        // plus IMP's levels 1 (0.8, nearest 1) and 2 (0.64, nearest 0.51 on the grid).
        let mut two = vec![2.0; densities.len()];
        two[0] = 1.0;
        let steps = 2.0 + 10.0 * (1.0 + 2.0 + 3.0 + 5.0 + 6.0) + 30.0 * 4.0;
        let time = 2.0 + 4.0 + (steps - 2.0 - 4.0) / 2.0;
        assert!((sweep_rate(&densities, &two, epochs) - steps / time).abs() < 1e-12);
    }

    #[test]
    fn the_magnitude_mask_keeps_the_largest_weights_ties_to_the_lower_index() {
        let params = [0.5, -2.0, 0.5, 9.0, 1.0];
        let mask = magnitude_mask(&params, &[0, 1, 2, 4], 2);
        assert_eq!(mask, [false, true, false, true, true]);
        let mask = magnitude_mask(&params, &[0, 1, 2, 4], 3);
        assert_eq!(mask, [true, true, false, true, true]);
    }
}
