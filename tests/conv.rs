//! The ConvNet core (SPEC §7, Fig. 1c): its forward pass against a naive direct convolution in
//! PyTorch's index order, its gradient, Hessian-vector product and SynFlow gradient against
//! central finite differences, its equality with the MLP core on 1 × 1 images, `f32` against
//! `f64`, determinism, the provided chunked passes, and masked weights under Adam.

use peff::model::conv::{Conv, ConvWorkspace};
use peff::model::mlp::{Mlp, MlpWorkspace};
use peff::model::{
    Control, Dataset, Loss, Model, ModelWorkspace, Optimizer, Scalar, Targets, TargetsRef,
    TrainConfig, Trainer,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random inputs in (−2, 2) and targets matching the loss.
fn conv_data(conv: &Conv, n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..n * conv.input_len())
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let targets = match conv.loss() {
        Loss::Mse => Targets::Values(
            (0..n * conv.outputs())
                .map(|_| rng.random_range(-1.5..1.5))
                .collect(),
        ),
        Loss::CrossEntropy => Targets::Classes(
            (0..n)
                .map(|_| rng.random_range(0..conv.outputs()))
                .collect(),
        ),
    };
    Dataset::new(conv, x, targets).unwrap()
}

fn loss_of(
    conv: &Conv,
    params: &[f64],
    data: &Dataset<f64>,
    t: f64,
    ws: &mut ConvWorkspace<f64>,
) -> f64 {
    conv.mean_loss(params, data.batch(), t, ws)
}

fn grad_of<T: Scalar>(
    conv: &Conv,
    params: &[T],
    data: &Dataset<T>,
    t: f64,
    ws: &mut ConvWorkspace<T>,
) -> (f64, Vec<T>) {
    let mut g = vec![T::ZERO; params.len()];
    let loss = conv.gradient(params, data.batch(), t, ws, &mut g);
    (loss, g)
}

fn hvp_of<T: Scalar>(
    conv: &Conv,
    params: &[T],
    data: &Dataset<T>,
    t: f64,
    v: &[T],
    ws: &mut ConvWorkspace<T>,
) -> Vec<T> {
    let mut h = vec![T::ZERO; params.len()];
    conv.hvp(params, data.batch(), t, v, ws, &mut h);
    h
}

/// The network's outputs for one point by a naive direct convolution written from PyTorch's
/// definitions (`Conv2d` cross-correlation, weight `[co][ci][ky][kx]`, padding 1; `Flatten` in
/// `C, H, W` order), independent of im2col; also the smallest |pre-activation| of any hidden
/// unit (finite differences are only valid away from ReLU kinks).
fn naive_forward(conv: &Conv, params: &[f64], x: &[f64]) -> (Vec<f64>, f64) {
    let [_, h, w] = conv.in_shape();
    let mut a = x.to_vec();
    let mut kink = f64::INFINITY;
    for layer in conv.conv_layers() {
        let (ci_n, co_n) = (layer.inputs, layer.outputs);
        let mut z = vec![0.0; co_n * h * w];
        for co in 0..co_n {
            for y in 0..h {
                for xx in 0..w {
                    let mut s = params[layer.bias.start + co];
                    for ci in 0..ci_n {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (sy, sx) = (y as isize + ky - 1, xx as isize + kx - 1);
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                                    continue;
                                }
                                let wi = layer.weights.start
                                    + ((co * ci_n + ci) * 3 + ky as usize) * 3
                                    + kx as usize;
                                s += params[wi] * a[(ci * h + sy as usize) * w + sx as usize];
                            }
                        }
                    }
                    z[(co * h + y) * w + xx] = s;
                }
            }
        }
        kink = z.iter().fold(kink, |m, v| m.min(v.abs()));
        a = z.iter().map(|v| v.max(0.0)).collect();
    }
    let lin = conv.linear_layer();
    let f = (0..lin.outputs)
        .map(|o| {
            params[lin.bias.start + o]
                + (0..lin.inputs)
                    .map(|j| params[lin.weights.start + o * lin.inputs + j] * a[j])
                    .sum::<f64>()
        })
        .collect();
    (f, kink)
}

fn kink_distance(conv: &Conv, params: &[f64], data: &Dataset<f64>) -> f64 {
    data.inputs()
        .chunks(conv.input_len())
        .map(|x| naive_forward(conv, params, x).1)
        .fold(f64::INFINITY, f64::min)
}

/// A small random ConvNet: C 1–2, H and W 2–5, depth 2–3, channels 1–3, classes 1–3 (MSE) or
/// 2–4 (cross-entropy).
fn small_conv(ce: bool, shape_seed: u64) -> Conv {
    let mut rng = ChaCha8Rng::seed_from_u64(shape_seed);
    let shape = [
        rng.random_range(1..3),
        rng.random_range(2..6),
        rng.random_range(2..6),
    ];
    let (depth, channels) = (rng.random_range(2..4), rng.random_range(1..4));
    let (loss, classes) = if ce {
        (Loss::CrossEntropy, rng.random_range(2..5))
    } else {
        (Loss::Mse, rng.random_range(1..4))
    };
    Conv::new(shape, depth, channels, classes, loss).unwrap()
}

/// Parameters: the init scaled, with entries zeroed where `mask_seed` says (pruned).
fn masked_params(conv: &Conv, seed: u64, scale: f64, mask_seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(mask_seed);
    conv.init_params(seed)
        .iter()
        .map(|w| if rng.random_bool(0.2) { 0.0 } else { w * scale })
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The forward pass equals a naive direct convolution in PyTorch's index order (to 1e-12);
    /// it fails on a flipped kernel, a transposed channel pair, a wrong padding or flatten order.
    #[test]
    fn forward_matches_a_naive_direct_convolution(
        ce in any::<bool>(), shape_seed in any::<u64>(), n in 1usize..4,
        seed in any::<u64>(), data_seed in any::<u64>(), mask_seed in any::<u64>(),
    ) {
        let conv = small_conv(ce, shape_seed);
        let data = conv_data(&conv, n, data_seed);
        let params = masked_params(&conv, seed, 1.5, mask_seed);
        let mut ws = conv.workspace(n);
        let f = conv.forward(&params, data.inputs(), n, &mut ws).to_vec();
        let o = conv.outputs();
        for (i, x) in data.inputs().chunks(conv.input_len()).enumerate() {
            let (want, _) = naive_forward(&conv, &params, x);
            prop_assert!(max_diff(&f[i * o..(i + 1) * o], &want) < 1e-12,
                "point {i}: {:?} vs {want:?}", &f[i * o..(i + 1) * o]);
        }
    }

    /// The analytic gradient equals central differences of the loss (relative error ≤ 1e-6)
    /// for both losses, temperatures ≠ 1 and masked (zeroed) parameters; it fails on any
    /// stride, transpose, im2col/col2im or chain-rule slip in the backward pass.
    #[test]
    fn gradient_matches_finite_differences(
        ce in any::<bool>(), shape_seed in any::<u64>(), n in 1usize..4,
        seed in any::<u64>(), data_seed in any::<u64>(), mask_seed in any::<u64>(),
        temp_idx in 0usize..3, scale in 0.5f64..2.5,
    ) {
        let conv = small_conv(ce, shape_seed);
        let data = conv_data(&conv, n, data_seed);
        let params = masked_params(&conv, seed, scale, mask_seed);
        prop_assume!(kink_distance(&conv, &params, &data) > 1e-3);
        let temperature = [1.0, 3.0, 200.0][temp_idx];
        let mut ws = conv.workspace(n);
        let (loss, grad) = grad_of(&conv, &params, &data, temperature, &mut ws);
        prop_assert!((loss - loss_of(&conv, &params, &data, temperature, &mut ws)).abs() < 1e-12);
        let eps = 1e-6;
        for i in 0..params.len() {
            let (mut up, mut down) = (params.clone(), params.clone());
            up[i] += eps;
            down[i] -= eps;
            let fd = (loss_of(&conv, &up, &data, temperature, &mut ws)
                - loss_of(&conv, &down, &data, temperature, &mut ws)) / (2.0 * eps);
            let err = (grad[i] - fd).abs() / grad[i].abs().max(fd.abs()).max(1e-3);
            prop_assert!(err < 1e-6 || (grad[i] - fd).abs() < 1e-9,
                "param {i}: analytic {} vs fd {fd}", grad[i]);
        }
    }

    /// The R-operator Hessian-vector product equals central differences of the analytic
    /// gradient along `v` (≤ 1e-6 of the largest entry); it fails if a cross term
    /// (`δ col(R{A})ᵀ`, `V_lᵀ δ`), the softmax curvature or the temperature scaling were wrong.
    #[test]
    fn hvp_matches_finite_differences_of_the_gradient(
        ce in any::<bool>(), shape_seed in any::<u64>(), n in 1usize..4,
        seed in any::<u64>(), data_seed in any::<u64>(), mask_seed in any::<u64>(),
        v_seed in any::<u64>(), temp_idx in 0usize..3,
    ) {
        let conv = small_conv(ce, shape_seed);
        let data = conv_data(&conv, n, data_seed);
        let params = masked_params(&conv, seed, 1.5, mask_seed);
        prop_assume!(kink_distance(&conv, &params, &data) > 1e-3);
        let temperature = [1.0, 3.0, 200.0][temp_idx];
        let v = conv.init_params(v_seed);
        let mut ws = conv.workspace(n);
        let hv = hvp_of(&conv, &params, &data, temperature, &v, &mut ws);
        let eps = 1e-5;
        let mut shifted = |sign: f64| {
            let p: Vec<f64> = params.iter().zip(&v).map(|(w, vi)| w + sign * eps * vi).collect();
            grad_of(&conv, &p, &data, temperature, &mut ws).1
        };
        let (gp, gm) = (shifted(1.0), shifted(-1.0));
        let scale = max_abs(&hv).max(1e-12);
        for i in 0..params.len() {
            let fd = (gp[i] - gm[i]) / (2.0 * eps);
            prop_assert!((hv[i] - fd).abs() <= 1e-6 * scale.max(fd.abs()) + 1e-11,
                "param {i}: analytic {} vs fd {fd}", hv[i]);
        }
    }

    /// SynFlow's gradient equals central differences of `S = Σ_o f_o(1)` (all-ones input), at
    /// `|θ|` (SynFlow's point) and at signed parameters; it fails if the all-ones input had the
    /// wrong shape or the seed `∂S/∂F = 1` reached the wrong outputs.
    #[test]
    fn synflow_gradient_matches_finite_differences(
        ce in any::<bool>(), shape_seed in any::<u64>(), seed in any::<u64>(),
        mask_seed in any::<u64>(), signed in any::<bool>(),
    ) {
        let conv = small_conv(ce, shape_seed);
        let mut params = masked_params(&conv, seed, 1.5, mask_seed);
        if !signed {
            params.iter_mut().for_each(|w| *w = w.abs());
        }
        let ones = vec![1.0; conv.input_len()];
        prop_assume!(naive_forward(&conv, &params, &ones).1 > 1e-3);
        let s_of = |p: &[f64]| naive_forward(&conv, p, &ones).0.iter().sum::<f64>();
        let mut ws = conv.workspace(1);
        let mut grad = vec![0.0; params.len()];
        let s = conv.synflow_gradient(&params, &mut ws, &mut grad);
        prop_assert!((s - s_of(&params)).abs() < 1e-12 * s.abs().max(1.0));
        let eps = 1e-6;
        for i in 0..params.len() {
            let (mut up, mut down) = (params.clone(), params.clone());
            up[i] += eps;
            down[i] -= eps;
            let fd = (s_of(&up) - s_of(&down)) / (2.0 * eps);
            let err = (grad[i] - fd).abs() / grad[i].abs().max(fd.abs()).max(1e-3);
            prop_assert!(err < 1e-6 || (grad[i] - fd).abs() < 1e-9,
                "param {i}: analytic {} vs fd {fd}", grad[i]);
        }
    }
}

/// The MLP parameters of a ConvNet on 1 × 1 images: each kernel's centre (`ky = kx = 1`, the
/// only tap that sees the image; the others see padding) and the biases and linear layer as
/// they are.
fn centre_params(conv: &Conv, params: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for layer in conv.conv_layers() {
        out.extend(params[layer.weights.clone()].chunks(9).map(|k| k[4]));
        out.extend_from_slice(&params[layer.bias.clone()]);
    }
    let lin = conv.linear_layer();
    out.extend_from_slice(&params[lin.weights.start..lin.bias.end]);
    out
}

/// On 1 × 1 images a ConvNet is the MLP `C-N-…-N-o` whose weights are its kernel centres:
/// equal losses, gradients (centre entries equal, off-centre entries exactly 0) and `H v`, to
/// ~1e-12 in `f64`, for both losses and temperatures ≠ 1; it fails on any difference of loss
/// convention, index order or R-operator between the two cores.
#[test]
fn conv_on_1x1_images_equals_the_mlp_of_its_kernel_centres() {
    for (ce, depth, c, channels, classes) in [
        (true, 2, 3, 4, 3),
        (false, 3, 2, 5, 2),
        (true, 4, 1, 3, 2),
        (false, 2, 4, 2, 1),
    ] {
        let loss = if ce { Loss::CrossEntropy } else { Loss::Mse };
        let conv = Conv::new([c, 1, 1], depth, channels, classes, loss).unwrap();
        let mut widths = vec![c];
        widths.extend(std::iter::repeat_n(channels, depth - 1));
        widths.push(classes);
        let mlp = Mlp::new(&widths, loss).unwrap();
        for seed in 0..4u64 {
            let n = 5;
            let data = conv_data(&conv, n, seed + 10);
            let params = masked_params(&conv, seed, 1.3, seed + 20);
            let mparams = centre_params(&conv, &params);
            assert_eq!(mparams.len(), mlp.num_params());
            let mdata = Dataset::new(
                &mlp,
                data.inputs().to_vec(),
                match data.targets() {
                    TargetsRef::Values(v) => Targets::Values(v.to_vec()),
                    TargetsRef::Classes(c) => Targets::Classes(c.to_vec()),
                },
            )
            .unwrap();
            let mut ws = conv.workspace(n);
            let mut mws = MlpWorkspace::new(&mlp, n);
            for t in [1.0, 4.0] {
                let (loss_c, g) = grad_of(&conv, &params, &data, t, &mut ws);
                let mut mg = vec![0.0; mlp.num_params()];
                let loss_m = mlp.gradient(&mparams, mdata.batch(), t, &mut mws, &mut mg);
                assert!((loss_c - loss_m).abs() < 1e-12, "loss, T = {t}");
                assert!(max_diff(&centre_params(&conv, &g), &mg) < 1e-12, "gradient");
                for layer in conv.conv_layers() {
                    for (k, kernel) in g[layer.weights.clone()].chunks(9).enumerate() {
                        for (tap, &gv) in kernel.iter().enumerate() {
                            assert!(tap == 4 || gv == 0.0, "off-centre gradient {k}/{tap}");
                        }
                    }
                }
                let v = conv.init_params(seed + 30);
                let h = hvp_of(&conv, &params, &data, t, &v, &mut ws);
                let mut mh = vec![0.0; mlp.num_params()];
                let mv = centre_params(&conv, &v);
                mlp.hvp(&mparams, mdata.batch(), t, &mv, &mut mws, &mut mh);
                assert!(max_diff(&centre_params(&conv, &h), &mh) < 1e-12, "hvp");
                let off_centre: f64 = conv
                    .conv_layers()
                    .iter()
                    .flat_map(|l| h[l.weights.clone()].chunks(9))
                    .flat_map(|k| k.iter().enumerate().filter(|(tap, _)| *tap != 4))
                    .map(|(_, v)| v.abs())
                    .sum();
                assert!(off_centre < 1e-300, "off-centre Hv");
            }
            let abs: Vec<f64> = params.iter().map(|w| w.abs()).collect();
            let mut s = vec![0.0; conv.num_params()];
            let mut ms = vec![0.0; mlp.num_params()];
            let sc = conv.synflow_gradient(&abs, &mut conv.workspace(1), &mut s);
            let sm = mlp.synflow_gradient(
                &centre_params(&conv, &abs),
                &mut MlpWorkspace::new(&mlp, 1),
                &mut ms,
            );
            assert!((sc - sm).abs() < 1e-12 * sm.abs().max(1.0));
            assert!(max_diff(&centre_params(&conv, &s), &ms) < 1e-12, "synflow");
        }
    }
}

/// The `f32` core agrees with the `f64` core to `f32` rounding (loss, gradient and `H v`,
/// relative to the largest entry) on a 3 × 8 × 8 network of depth 4 and 8 channels; it fails if
/// a precision-specific path (the GEMM dispatch, a conversion) differed.
#[test]
fn f32_agrees_with_f64() {
    for loss in [Loss::CrossEntropy, Loss::Mse] {
        let conv = Conv::new([3, 8, 8], 4, 8, 10, loss).unwrap();
        let n = 6;
        let data = conv_data(&conv, n, 3);
        let params = conv.init_params(4);
        let v = conv.init_params(5);
        let to32 = |p: &[f64]| p.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let to64 = |p: &[f32]| p.iter().map(|&v| v as f64).collect::<Vec<f64>>();
        let (p32, v32, data32) = (to32(&params), to32(&v), data.convert::<f32>());
        let mut ws = conv.workspace(n);
        let mut ws32 = conv.workspace(n);
        for t in [1.0, 200.0] {
            let (l64, g64) = grad_of(&conv, &params, &data, t, &mut ws);
            let (l32, g32) = grad_of(&conv, &p32, &data32, t, &mut ws32);
            assert!(
                (l64 - l32).abs() < 1e-5 * l64.abs().max(1.0),
                "{l64} vs {l32}"
            );
            let err = max_diff(&g64, &to64(&g32)) / max_abs(&g64);
            assert!(err < 1e-5 && max_abs(&g64) > 0.0, "gradient: {err:e}");
            let h64 = hvp_of(&conv, &params, &data, t, &v, &mut ws);
            let h32 = hvp_of(&conv, &p32, &data32, t, &v32, &mut ws32);
            let err = max_diff(&h64, &to64(&h32)) / max_abs(&h64);
            assert!(err < 1e-4 && max_abs(&h64) > 0.0, "hvp: {err:e}");
        }
    }
}

/// Gradients are bit-identical run to run and independent of the workspace capacity and of
/// what a previous batch left in it; `hvp` does not change a later gradient.
#[test]
fn gradients_are_deterministic() {
    let conv = Conv::new([2, 6, 5], 3, 4, 3, Loss::CrossEntropy).unwrap();
    let params: Vec<f32> = conv.init_params(1).iter().map(|&v| v as f32).collect();
    let data = conv_data(&conv, 7, 2).convert::<f32>();
    let other = conv_data(&conv, 9, 3).convert::<f32>();
    let mut ws = conv.workspace(7);
    let (l1, g1) = grad_of(&conv, &params, &data, 1.0, &mut ws);
    let mut big = conv.workspace(9);
    grad_of(&conv, &params, &other, 1.0, &mut big);
    let v: Vec<f32> = conv.init_params(9).iter().map(|&v| v as f32).collect();
    hvp_of(&conv, &params, &other, 2.0, &v, &mut big);
    let (l2, g2) = grad_of(&conv, &params, &data, 1.0, &mut big);
    assert_eq!(l1.to_bits(), l2.to_bits());
    assert!(g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
}

/// Masked weights stay exactly 0 under minibatch Adam through the shared [`Trainer`], in `f32`,
/// and the kept ones move; it fails if a pruned weight received an update through its gradient
/// or the optimizer's moments.
#[test]
fn masked_weights_stay_zero_under_adam() {
    let conv = Conv::new([1, 6, 6], 3, 4, 3, Loss::CrossEntropy).unwrap();
    let p = conv.num_params();
    let data = conv_data(&conv, 16, 7).convert::<f32>();
    let mut mask = vec![true; p];
    for i in conv.weight_indices().into_iter().filter(|i| i % 3 == 0) {
        mask[i] = false;
    }
    let init: Vec<f32> = conv.init_params(2).iter().map(|&w| w as f32).collect();
    let config = TrainConfig {
        batch_size: Some(4),
        ..TrainConfig::full_batch(Optimizer::adam(1e-2))
    };
    let mut trainer = Trainer::<_, f32>::new(&conv, config, data.len());
    trainer.reset(&init, Some(&mask));
    let outcome = trainer.train(&data, 10, |_, _| Control::Continue);
    assert!(!outcome.diverged && outcome.epochs == 10);
    for (i, (&w, &w0)) in trainer.params().iter().zip(&init).enumerate() {
        if mask[i] {
            assert_ne!(w.to_bits(), w0.to_bits(), "kept {i} did not move");
        } else {
            assert_eq!(w.to_bits(), 0, "pruned {i} moved");
        }
    }
}

/// The provided chunked passes (`point_losses`, `mean_loss`, `evaluate`) on a workspace of 2
/// rows equal one pass on a workspace of all rows, bit for bit; it fails if a pass read a
/// buffer beyond its rows or kept state between chunks.
#[test]
fn chunked_passes_equal_one_pass() {
    for loss in [Loss::CrossEntropy, Loss::Mse] {
        let conv = Conv::new([2, 4, 3], 3, 3, 3, loss).unwrap();
        let n = 7;
        let data = conv_data(&conv, n, 11);
        let params = conv.init_params(12);
        let (mut small, mut large) = (conv.workspace::<f64>(2), conv.workspace::<f64>(n));
        assert_eq!(small.capacity(), 2);
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        conv.point_losses(&params, data.batch(), &mut small, &mut a);
        conv.point_losses(&params, data.batch(), &mut large, &mut b);
        assert_eq!(a, b);
        let mean = conv.mean_loss(&params, data.batch(), 1.0, &mut small);
        let (gl, _) = grad_of(&conv, &params, &data, 1.0, &mut large);
        assert!(
            (mean - gl).abs() < 1e-14 && (mean - a.iter().sum::<f64>() / n as f64).abs() < 1e-14
        );
        let o = conv.outputs();
        let (mut fa, mut fb) = (vec![0.0; n * o], vec![0.0; n * o]);
        conv.evaluate(&params, data.inputs(), n, &mut small, &mut fa);
        conv.evaluate(&params, data.inputs(), n, &mut large, &mut fb);
        assert_eq!(fa, fb);
        assert_eq!(fa, conv.forward(&params, data.inputs(), n, &mut large));
    }
}
