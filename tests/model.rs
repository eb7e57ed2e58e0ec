//! The hand-written derivatives of the toy MLP against central finite differences, and the
//! lockstep trainer against the scalar path.

use peff::data::DataSpace;
use peff::model::toy::lanes::{ToyBatch, TrainParams};
use peff::model::toy::{Dims, Loss, ToyShape};
use peff::model::Networks;
use proptest::prelude::*;

const TRAIN: TrainParams = TrainParams { steps: 50, lr: 0.1 };

fn shape(loss: Loss, d: usize, h: usize) -> ToyShape {
    let outputs = if loss == Loss::Mse { 1 } else { 2 };
    ToyShape {
        input_dim: d,
        hidden: h,
        outputs,
        loss,
    }
}

/// Smallest |pre-activation| over points: finite differences are only valid away from kinks.
fn kink_distance(s: &ToyShape, space: &DataSpace, ids: &[u32], params: &[f64]) -> f64 {
    let mut min = f64::INFINITY;
    for &id in ids {
        for j in 0..s.hidden {
            let z = (0..s.input_dim).fold(params[s.b1(j)], |acc, t| {
                acc + params[s.w1(j, t)] * space.input(id, t)
            });
            min = min.min(z.abs());
        }
    }
    min
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / (a.abs().max(b.abs()).max(1e-3))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The analytic gradient equals central differences of the loss (relative error ≤ 1e-6),
    /// for both losses and temperatures; it would fail on any sign, index or chain-rule slip
    /// in the backward pass.
    #[test]
    fn gradient_matches_finite_differences(
        ce in any::<bool>(), d in 1usize..4, h in 1usize..5, n in 1usize..5,
        seed in any::<u64>(), data_seed in any::<u64>(), temp_idx in 0usize..3,
        scale in 0.5f64..3.0,
    ) {
        let loss = if ce { Loss::CrossEntropy } else { Loss::Mse };
        let s = shape(loss, d, h);
        let space = DataSpace { input_dim: d, n };
        let ids = space.sample(data_seed, 0);
        let params: Vec<f64> = s.init_params(seed).iter().map(|w| w * scale).collect();
        prop_assume!(kink_distance(&s, &space, &ids, &params) > 1e-3);
        let temperature = [1.0, 3.0, 200.0][temp_idx];
        let batch = ToyBatch::<1>::new(s, space, TRAIN, &params, &[(0, ids)]);
        let mut grad = vec![0.0; params.len()];
        batch.gradient_at(&params, temperature, &mut grad);
        let eps = 1e-6;
        for i in 0..params.len() {
            let (mut up, mut down) = (params.clone(), params.clone());
            up[i] += eps;
            down[i] -= eps;
            let fd = (batch.tempered_loss_at(&up, temperature)[0] - batch.tempered_loss_at(&down, temperature)[0]) / (2.0 * eps);
            prop_assert!(rel_err(grad[i], fd) < 1e-6 || (grad[i] - fd).abs() < 1e-9,
                "param {i}: analytic {} vs fd {fd}", grad[i]);
        }
    }

    /// The R-operator Hessian-vector product equals central differences of the analytic
    /// gradient along v (relative error ≤ 1e-6); it would fail if a second-order cross term
    /// (hidden input weights × output weights) or the softmax curvature were wrong.
    #[test]
    fn hvp_matches_finite_differences_of_the_gradient(
        ce in any::<bool>(), d in 1usize..4, h in 1usize..5, n in 1usize..5,
        seed in any::<u64>(), data_seed in any::<u64>(), v_seed in any::<u64>(), temp_idx in 0usize..3,
    ) {
        let loss = if ce { Loss::CrossEntropy } else { Loss::Mse };
        let s = shape(loss, d, h);
        let space = DataSpace { input_dim: d, n };
        let ids = space.sample(data_seed, 0);
        let params = s.init_params(seed);
        prop_assume!(kink_distance(&s, &space, &ids, &params) > 1e-3);
        let temperature = [1.0, 3.0, 200.0][temp_idx];
        let v = s.init_params(v_seed);
        let batch = ToyBatch::<1>::new(s, space, TRAIN, &params, &[(0, ids)]);
        let mut hv = vec![0.0; params.len()];
        batch.hvp_at(&params, temperature, &v, &mut hv);
        let eps = 1e-5;
        let shifted = |sign: f64| {
            let p: Vec<f64> = params.iter().zip(&v).map(|(w, vi)| w + sign * eps * vi).collect();
            let mut g = vec![0.0; p.len()];
            batch.gradient_at(&p, temperature, &mut g);
            g
        };
        let (gp, gm) = (shifted(1.0), shifted(-1.0));
        let scale = hv.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
        for i in 0..params.len() {
            let fd = (gp[i] - gm[i]) / (2.0 * eps);
            prop_assert!((hv[i] - fd).abs() <= 1e-6 * scale.max(fd.abs()) + 1e-11,
                "param {i}: analytic {} vs fd {fd}", hv[i]);
        }
    }
}

/// Training 8 datasets in lockstep lanes gives bit-identical parameters to training each alone
/// (the scalar path), for both losses, with random masks; it fails if lanes interact or if the
/// vectorised code reorders floating-point operations.
#[test]
fn lockstep_lanes_equal_scalar_path_bit_for_bit() {
    for (loss, d, h) in [
        (Loss::Mse, 3, 4),
        (Loss::CrossEntropy, 3, 3),
        (Loss::Mse, 2, 5),
    ] {
        let s = shape(loss, d, h);
        let p = s.num_params();
        let space = DataSpace { input_dim: d, n: 6 };
        let init = s.init_params(11);
        let datasets: Vec<(u64, Vec<u32>)> = (0..8).map(|i| (i, space.sample(5, i))).collect();
        let masks: Vec<Vec<f64>> = (0..8u64)
            .map(|l| {
                (0..p)
                    .map(|i| {
                        if (i as u64 * 7 + l * 3).is_multiple_of(5) {
                            0.0
                        } else {
                            1.0
                        }
                    })
                    .collect()
            })
            .collect();
        let batch = ToyBatch::<8>::new(s, space, TRAIN, &init, &datasets);
        let mask_soa: Vec<f64> = (0..p * 8).map(|idx| masks[idx % 8][idx / 8]).collect();
        let mut params = vec![0.0; p * 8];
        let mut diverged = vec![false; 8];
        batch.train(&mask_soa, &mut params, &mut diverged);
        for (l, ds) in datasets.iter().enumerate() {
            let single = ToyBatch::<1>::new(s, space, TRAIN, &init, std::slice::from_ref(ds));
            let mut p1 = vec![0.0; p];
            let mut d1 = vec![false];
            single.train(&masks[l], &mut p1, &mut d1);
            for i in 0..p {
                assert_eq!(
                    params[i * 8 + l].to_bits(),
                    p1[i].to_bits(),
                    "{loss:?} lane {l} param {i}"
                );
                if masks[l][i] == 0.0 {
                    assert_eq!(p1[i].to_bits(), 0u64, "masked parameters stay exactly 0");
                }
            }
            assert_eq!(diverged[l], d1[0]);
        }
    }
}

/// A learning rate far too large makes training diverge, and the run is flagged rather than
/// returning NaN parameters as if valid.
#[test]
fn divergence_is_flagged() {
    let s = shape(Loss::Mse, 3, 4);
    let space = DataSpace { input_dim: 3, n: 6 };
    let train = TrainParams {
        steps: 500,
        lr: 50.0,
    };
    let batch = ToyBatch::<1>::new(
        s,
        space,
        train,
        &s.init_params(0),
        &[(0, space.sample(0, 0))],
    );
    let (_, diverged) = batch.dense_trained();
    assert!(diverged[0]);
}

/// Gradient descent decreases the training loss on a typical dataset (the update has the
/// right sign and the learning rate is applied once).
#[test]
fn training_reduces_the_loss() {
    let s = shape(Loss::Mse, 3, 4);
    let space = DataSpace { input_dim: 3, n: 6 };
    let init = s.init_params(0);
    let batch = ToyBatch::<1>::new(
        s,
        space,
        TrainParams {
            steps: 2000,
            lr: 0.1,
        },
        &init,
        &[(0, space.sample(1, 0))],
    );
    let before = batch.loss_at(&init)[0];
    let (trained, diverged) = batch.dense_trained();
    assert!(!diverged[0]);
    assert!(batch.loss_at(trained)[0] < 0.5 * before);
}
