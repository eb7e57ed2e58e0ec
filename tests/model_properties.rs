//! The properties every [`Model`] must have, checked generically and instantiated for each
//! network type (a new network adds one module of strategies at the bottom):
//!
//! - the analytic gradient equals central differences of the mean loss;
//! - the R-operator Hessian-vector product equals central differences of the gradient along `v`;
//! - SynFlow's gradient equals central differences of `S = Σ_o f_o(1)`;
//! - the provided `mean_loss`, `point_losses` and `evaluate` agree with `gradient`'s loss and
//!   `forward`, also across workspace chunks;
//! - a pruned parameter stays exactly 0 under GD, minibatch Adam and Adam with gradient noise;
//! - the sparse kernels (`Model::set_mask`) give the dense path's outputs, gradients at the kept
//!   weights and training trajectories, to rounding, at every density;
//! - the pruning scores' data passes (`gradient_at_init`, `hvp_at_init` of [`ModelNetworks`])
//!   summed over chunks of one point equal one pass over the whole set.
//!
//! Finite differences are valid only away from ReLU kinks; each network supplies its smallest
//! |pre-activation| on the data (`kink_distance`), and cases too close to a kink are skipped.

use peff::model::conv::Conv;
use peff::model::mlp::Mlp;
use peff::model::{
    Control, Dataset, Loss, Model, ModelNetworks, ModelWorkspace, Networks, Optimizer, Targets,
    TrainConfig, Trainer,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random dataset for `model`: inputs uniform in [−2, 2], targets matching its loss.
fn random_data<M: Model>(model: &M, n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f64> = (0..n * model.input_len())
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let targets = match model.loss() {
        Loss::Mse => Targets::Values(
            (0..n * model.outputs())
                .map(|_| rng.random_range(-1.5..1.5))
                .collect(),
        ),
        Loss::CrossEntropy => Targets::Classes(
            (0..n)
                .map(|_| rng.random_range(0..model.outputs()))
                .collect(),
        ),
    };
    Dataset::new(model, x, targets).unwrap()
}

/// The init scaled by `scale`, with about a fifth of the entries zeroed (pruned).
fn masked_params<M: Model>(model: &M, seed: u64, scale: f64, mask_seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(mask_seed);
    model
        .init_params(seed)
        .iter()
        .map(|w| if rng.random_bool(0.2) { 0.0 } else { w * scale })
        .collect()
}

/// The analytic gradient against central differences of the mean loss (relative error ≤ 1e-6);
/// it fails on any stride, transpose, index or chain-rule slip in a backward pass.
fn check_gradient<M: Model>(
    model: &M,
    params: &[f64],
    data: &Dataset<f64>,
    temperature: f64,
) -> Result<(), TestCaseError> {
    let mut ws = model.workspace(data.len());
    let mut grad = vec![0.0; params.len()];
    let loss = model.gradient(params, data.batch(), temperature, &mut ws, &mut grad);
    let again = model.mean_loss(params, data.batch(), temperature, &mut ws);
    prop_assert!(
        (loss - again).abs() <= 1e-12 * loss.abs().max(1.0),
        "mean_loss {again} vs gradient's loss {loss}"
    );
    let eps = 1e-6;
    for i in 0..params.len() {
        let (mut up, mut down) = (params.to_vec(), params.to_vec());
        up[i] += eps;
        down[i] -= eps;
        let fd = (model.mean_loss(&up, data.batch(), temperature, &mut ws)
            - model.mean_loss(&down, data.batch(), temperature, &mut ws))
            / (2.0 * eps);
        let err = (grad[i] - fd).abs() / grad[i].abs().max(fd.abs()).max(1e-3);
        prop_assert!(
            err < 1e-6 || (grad[i] - fd).abs() < 1e-9,
            "param {i}: analytic {} vs fd {fd}",
            grad[i]
        );
    }
    Ok(())
}

/// The R-operator `H v` against central differences of the analytic gradient along `v`
/// (≤ 1e-6 of the largest entry); it fails if a cross term, the softmax curvature or the
/// temperature scaling were wrong.
fn check_hvp<M: Model>(
    model: &M,
    params: &[f64],
    data: &Dataset<f64>,
    temperature: f64,
    v: &[f64],
) -> Result<(), TestCaseError> {
    let mut ws = model.workspace(data.len());
    let mut hv = vec![0.0; params.len()];
    model.hvp(params, data.batch(), temperature, v, &mut ws, &mut hv);
    let eps = 1e-5;
    let mut shifted = |sign: f64| {
        let p: Vec<f64> = params
            .iter()
            .zip(v)
            .map(|(w, vi)| w + sign * eps * vi)
            .collect();
        let mut g = vec![0.0; p.len()];
        model.gradient(&p, data.batch(), temperature, &mut ws, &mut g);
        g
    };
    let (gp, gm) = (shifted(1.0), shifted(-1.0));
    let scale = hv.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
    for i in 0..params.len() {
        let fd = (gp[i] - gm[i]) / (2.0 * eps);
        prop_assert!(
            (hv[i] - fd).abs() <= 1e-6 * scale.max(fd.abs()) + 1e-11,
            "param {i}: analytic {} vs fd {fd}",
            hv[i]
        );
    }
    Ok(())
}

/// SynFlow's gradient at `|θ|` against central differences of `S = Σ_o f_o(1)`.
fn check_synflow<M: Model>(model: &M, params: &[f64]) -> Result<(), TestCaseError> {
    let abs: Vec<f64> = params.iter().map(|w| w.abs()).collect();
    let mut ws = model.workspace(1);
    let mut grad = vec![0.0; abs.len()];
    let s = model.synflow_gradient(&abs, &mut ws, &mut grad);
    let ones = vec![1.0; model.input_len()];
    let mut s_at = |p: &[f64]| -> f64 { model.forward(p, &ones, 1, &mut ws).iter().sum() };
    prop_assert!((s - s_at(&abs)).abs() <= 1e-12 * s.abs().max(1.0));
    let eps = 1e-6;
    let scale = grad.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
    for i in 0..abs.len() {
        let (mut up, mut down) = (abs.clone(), abs.clone());
        up[i] += eps;
        down[i] -= eps;
        let fd = (s_at(&up) - s_at(&down)) / (2.0 * eps);
        prop_assert!(
            (grad[i] - fd).abs() <= 1e-6 * scale.max(fd.abs()) + 1e-9,
            "param {i}: analytic {} vs fd {fd}",
            grad[i]
        );
    }
    Ok(())
}

/// `point_losses` and `evaluate` in chunks of a small workspace equal one large pass, and
/// the per-point losses average to the mean loss.
fn check_chunked_passes<M: Model>(
    model: &M,
    params: &[f64],
    data: &Dataset<f64>,
) -> Result<(), TestCaseError> {
    let n = data.len();
    let (mut small, mut large) = (model.workspace(2), model.workspace(n));
    prop_assert_eq!(small.capacity(), 2);
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    model.point_losses(params, data.batch(), &mut small, &mut a);
    model.point_losses(params, data.batch(), &mut large, &mut b);
    prop_assert_eq!(&a, &b);
    let mean = model.mean_loss(params, data.batch(), 1.0, &mut small);
    let avg = a.iter().sum::<f64>() / n as f64;
    prop_assert!((mean - avg).abs() <= 1e-12 * mean.abs().max(1.0));
    let o = model.outputs();
    let (mut fa, mut fb) = (vec![0.0; n * o], vec![0.0; n * o]);
    model.evaluate(params, data.inputs(), n, &mut small, &mut fa);
    model.evaluate(params, data.inputs(), n, &mut large, &mut fb);
    prop_assert_eq!(&fa, &fb);
    let direct = model.forward(params, data.inputs(), n, &mut large).to_vec();
    prop_assert_eq!(fa, direct);
    Ok(())
}

/// The gradient and `H v` at `θ0` that the pruning methods score with, computed over chunks of
/// one point (each chunk's mean weighted by `1/n`), equal one pass over all `n` points to
/// rounding (relative 1e-12 of the largest entry); it fails on a chunk weight or target-slicing
/// slip.
fn check_chunked_scores<M: Model>(model: &M, n: usize, seed: u64) {
    let data: Dataset<f32> = random_data(model, n, seed).convert();
    let init = model.init_params(seed);
    let routine = |t: &mut Trainer<M, f32>, d: &Dataset<f32>| t.train(d, 1, |_, _| Control::Stop);
    let config = TrainConfig::full_batch(Optimizer::sgd(0.1));
    let whole = ModelNetworks::new(model, data.clone(), &init, 0, config, routine);
    let chunked =
        ModelNetworks::new(model, data, &init, 0, config, routine).score_workspace_bytes(1);
    let p = model.num_params();
    let close = |a: &[f64], b: &[f64]| {
        let scale = a.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * scale)
    };
    for temperature in [1.0, 200.0] {
        let (mut a, mut b) = (vec![0.0; p], vec![0.0; p]);
        whole.gradient_at_init(temperature, &mut a);
        chunked.gradient_at_init(temperature, &mut b);
        assert!(close(&a, &b), "gradient at T = {temperature}");
        let v = model.init_params(seed + 1);
        let (mut ha, mut hb) = (vec![0.0; p], vec![0.0; p]);
        whole.hvp_at_init(temperature, &v, &mut ha);
        chunked.hvp_at_init(temperature, &v, &mut hb);
        assert!(close(&ha, &hb), "H v at T = {temperature}");
        assert!(a.iter().any(|&g| g != 0.0) && ha.iter().any(|&h| h != 0.0));
    }
}

#[test]
fn chunked_pruning_scores_equal_one_pass() {
    for loss in [Loss::CrossEntropy, Loss::Mse] {
        check_chunked_scores(&Mlp::new(&[5, 6, 4, 3], loss).unwrap(), 7, 3);
        check_chunked_scores(&Conv::new([2, 4, 3], 3, 2, 3, loss).unwrap(), 5, 4);
    }
}

/// A pruned parameter stays exactly 0 through full-batch GD, minibatch Adam and Adam with
/// gradient noise, while kept ones move; it fails if the mask is not applied to the update.
fn check_masked_training<M: Model>(model: &M, data: &Dataset<f64>, seed: u64) {
    let init = model.init_params(seed);
    let mask: Vec<bool> = (0..model.num_params())
        .map(|i| !i.is_multiple_of(3))
        .collect();
    for config in [
        TrainConfig::full_batch(Optimizer::sgd(0.05)),
        TrainConfig {
            batch_size: Some(3),
            ..TrainConfig::full_batch(Optimizer::adam(1e-2))
        },
        TrainConfig {
            grad_noise_variance: 0.1,
            ..TrainConfig::full_batch(Optimizer::adam(1e-2))
        },
    ] {
        let mut trainer = Trainer::<_, f64>::new(model, config, data.len());
        trainer.reset(&init, Some(&mask));
        // After one full-batch step, exactly the kept parameters with a nonzero gradient moved
        // (a unit dead on every point gives its weights no gradient).
        if config.batch_size.is_none() && config.grad_noise_variance == 0.0 {
            let start: Vec<f64> = trainer.params().to_vec();
            let mut grad = vec![0.0; start.len()];
            let mut ws = model.workspace(data.len());
            model.gradient(&start, data.batch(), 1.0, &mut ws, &mut grad);
            trainer.train(data, 1, |_, _| Control::Continue);
            for (i, (&w, &w0)) in trainer.params().iter().zip(&start).enumerate() {
                let should_move = mask[i] && grad[i] != 0.0;
                assert_eq!(w != w0, should_move, "parameter {i}, gradient {}", grad[i]);
            }
        }
        trainer.train(data, 30, |_, _| Control::Continue);
        let mut moved = 0;
        for (i, (&w, &w0)) in trainer.params().iter().zip(&init).enumerate() {
            if mask[i] {
                moved += usize::from(w != w0);
            } else {
                assert_eq!(w.to_bits(), 0.0f64.to_bits(), "pruned parameter {i}");
            }
        }
        assert!(moved > 0);
    }
}

/// The sparse kernels against the dense path on the same masked network: outputs and the
/// gradient at kept weights to 1e-12 (relative to the largest value), and twenty minibatch Adam
/// steps to 1e-9; at 5 %, 25 % and 60 % kept, every layer sparse (`sparse_below = 1`).
fn check_sparse_kernels<M: Model>(model: &M, data: &Dataset<f64>, seed: u64) {
    let p = model.num_params();
    let weights = model.weight_indices();
    let init = model.init_params(seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let close = |a: &[f64], b: &[f64], tol: f64| {
        let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * scale)
    };
    for density in [0.05, 0.25, 0.6] {
        let mut mask = vec![true; p];
        for &i in &weights {
            mask[i] = rng.random_bool(density);
        }
        let params: Vec<f64> = init
            .iter()
            .zip(&mask)
            .map(|(&w, &k)| if k { w } else { 0.0 })
            .collect();
        let n = data.len();
        let (mut dense_ws, mut sparse_ws) = (model.workspace(n), model.workspace(n));
        model.set_mask(
            Some(&mask),
            peff::model::sparse::SparseBelow::uniform(1.0),
            &mut sparse_ws,
        );
        let dense_f = model
            .forward(&params, data.inputs(), n, &mut dense_ws)
            .to_vec();
        let sparse_f = model
            .forward(&params, data.inputs(), n, &mut sparse_ws)
            .to_vec();
        assert!(close(&sparse_f, &dense_f, 1e-12), "forward at {density}");
        let (mut gd, mut gs) = (vec![0.0; p], vec![f64::NAN; p]);
        let ld = model.gradient(&params, data.batch(), 1.0, &mut dense_ws, &mut gd);
        let ls = model.gradient(&params, data.batch(), 1.0, &mut sparse_ws, &mut gs);
        assert!(
            (ld - ls).abs() <= 1e-12 * ld.abs().max(1.0),
            "loss at {density}"
        );
        let kept: Vec<usize> = (0..p).filter(|&i| mask[i]).collect();
        let pick = |g: &[f64]| kept.iter().map(|&i| g[i]).collect::<Vec<f64>>();
        assert!(
            close(&pick(&gs), &pick(&gd), 1e-12),
            "gradient at {density}"
        );
        let run = |sparse_below: peff::model::sparse::SparseBelow| {
            let config = TrainConfig {
                batch_size: Some(3),
                sparse_below,
                ..TrainConfig::full_batch(Optimizer::adam(1e-2))
            };
            let mut t = Trainer::<_, f64>::new(model, config, n);
            t.reset(&init, Some(&mask));
            t.train(data, 20, |_, _| Control::Continue);
            t.params().to_vec()
        };
        let (dense_run, sparse_run) = (
            run(peff::model::sparse::SparseBelow::NEVER),
            run(peff::model::sparse::SparseBelow::uniform(1.0)),
        );
        assert!(
            close(&sparse_run, &dense_run, 1e-9),
            "training at {density}"
        );
        for (i, &w) in sparse_run.iter().enumerate() {
            assert!(mask[i] || w.to_bits() == 0, "pruned parameter {i} moved");
        }
    }
}

/// The MLP: depths 1–4, widths 1–4, both losses.
mod mlp {
    use super::*;

    /// Widths of `depth` layers from a seed: 1..5 wide, CE nets with ≥ 2 outputs.
    fn widths(depth: usize, ce: bool, seed: u64) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w: Vec<usize> = (0..=depth).map(|_| rng.random_range(1..5)).collect();
        if ce {
            w[depth] = w[depth].max(2);
        }
        w
    }

    /// Smallest |pre-activation| of any hidden unit on any point, by a naive forward pass.
    fn kink_distance(mlp: &Mlp, params: &[f64], data: &Dataset<f64>) -> f64 {
        let d = mlp.input_dim();
        let mut min = f64::INFINITY;
        for x in data.inputs().chunks(d) {
            let mut a = x.to_vec();
            for (l, layer) in mlp.layers().iter().enumerate() {
                let z: Vec<f64> = (0..layer.outputs)
                    .map(|j| {
                        let w = &params[layer.weights.start + j * layer.inputs..];
                        params[layer.bias.start + j]
                            + (0..layer.inputs).map(|t| w[t] * a[t]).sum::<f64>()
                    })
                    .collect();
                if l + 1 < mlp.layers().len() {
                    min = z.iter().fold(min, |m, v| m.min(v.abs()));
                    a = z.iter().map(|v| v.max(0.0)).collect();
                }
            }
        }
        min
    }

    fn mlp(depth: usize, ce: bool, shape_seed: u64) -> Mlp {
        let loss = if ce { Loss::CrossEntropy } else { Loss::Mse };
        Mlp::new(&widths(depth, ce, shape_seed), loss).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn gradient_matches_finite_differences(
            ce in any::<bool>(), depth in 1usize..5, shape_seed in any::<u64>(), n in 1usize..6,
            seed in any::<u64>(), data_seed in any::<u64>(), mask_seed in any::<u64>(),
            temp_idx in 0usize..3, scale in 0.5f64..2.5,
        ) {
            let mlp = mlp(depth, ce, shape_seed);
            let data = random_data(&mlp, n, data_seed);
            let params = masked_params(&mlp, seed, scale, mask_seed);
            prop_assume!(kink_distance(&mlp, &params, &data) > 1e-3);
            check_gradient(&mlp, &params, &data, [1.0, 3.0, 200.0][temp_idx])?;
        }

        #[test]
        fn hvp_matches_finite_differences_of_the_gradient(
            ce in any::<bool>(), depth in 1usize..5, shape_seed in any::<u64>(), n in 1usize..6,
            seed in any::<u64>(), data_seed in any::<u64>(), mask_seed in any::<u64>(),
            v_seed in any::<u64>(), temp_idx in 0usize..3,
        ) {
            let mlp = mlp(depth, ce, shape_seed);
            let data = random_data(&mlp, n, data_seed);
            let params = masked_params(&mlp, seed, 1.5, mask_seed);
            prop_assume!(kink_distance(&mlp, &params, &data) > 1e-3);
            let v = mlp.init_params(v_seed);
            check_hvp(&mlp, &params, &data, [1.0, 3.0, 200.0][temp_idx], &v)?;
        }

        #[test]
        fn synflow_gradient_matches_finite_differences(
            depth in 1usize..5, shape_seed in any::<u64>(), seed in any::<u64>(),
            mask_seed in any::<u64>(),
        ) {
            let mlp = mlp(depth, false, shape_seed);
            let params = masked_params(&mlp, seed, 1.0, mask_seed);
            let abs: Vec<f64> = params.iter().map(|w| w.abs()).collect();
            let ones = Dataset::new(&mlp, vec![1.0; mlp.input_dim()], Targets::Values(vec![0.0; mlp.outputs()])).unwrap();
            prop_assume!(kink_distance(&mlp, &abs, &ones) > 1e-3);
            check_synflow(&mlp, &params)?;
        }

        #[test]
        fn chunked_passes_equal_one_pass(
            ce in any::<bool>(), depth in 1usize..4, shape_seed in any::<u64>(), n in 3usize..9,
            seed in any::<u64>(), data_seed in any::<u64>(),
        ) {
            let mlp = mlp(depth, ce, shape_seed);
            let data = random_data(&mlp, n, data_seed);
            check_chunked_passes(&mlp, &mlp.init_params(seed), &data)?;
        }
    }

    #[test]
    fn masked_weights_stay_exactly_zero() {
        let mlp = Mlp::new(&[5, 8, 8, 1], Loss::Mse).unwrap();
        check_masked_training(&mlp, &random_data(&mlp, 20, 1), 5);
    }

    #[test]
    fn sparse_kernels_equal_the_dense_path() {
        for (widths, n) in [
            (vec![7, 9, 6, 3], 5),
            (vec![20, 30, 2], 70),
            (vec![4, 1], 1),
        ] {
            let loss = if widths[widths.len() - 1] == 1 {
                Loss::Mse
            } else {
                Loss::CrossEntropy
            };
            let mlp = Mlp::new(&widths, loss).unwrap();
            check_sparse_kernels(&mlp, &random_data(&mlp, n, 2), 3);
        }
    }
}

/// The ConvNet (the other strategies live in `tests/conv.rs`).
#[test]
fn conv_sparse_kernels_equal_the_dense_path() {
    for (shape, n) in [([1, 5, 4], 3), ([2, 6, 6], 66)] {
        let conv = Conv::new(shape, 3, 4, 3, Loss::CrossEntropy).unwrap();
        check_sparse_kernels(&conv, &random_data(&conv, n, 4), 6);
    }
}
