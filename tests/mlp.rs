//! The general MLP core: its equality with the toy trainer on the toy's shapes, Adam against
//! hand-computed values, determinism, and pruning through `Networks`. Its gradient,
//! Hessian-vector product, SynFlow gradient and masks are checked, as every [`Model`]'s, in
//! `tests/model_properties.rs`.

use peff::data::DataSpace;
use peff::model::mlp::Mlp;
use peff::model::toy::lanes::{ToyBatch, TrainParams};
use peff::model::toy::ToyShape;
use peff::model::{
    Control, Dataset, Loss, Model, ModelNetworks, Networks, Optimizer, OptimizerState, Targets,
    TrainConfig, TrainOutcome, Trainer,
};
use peff::prune::{Method, PruneSettings};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random dataset for `mlp`: standard-normal-ish inputs, targets matching the loss.
fn random_data(mlp: &Mlp, n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f64> = (0..n * mlp.input_dim())
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let targets = match mlp.loss() {
        Loss::Mse => Targets::Values(
            (0..n * mlp.outputs())
                .map(|_| rng.random_range(-1.5..1.5))
                .collect(),
        ),
        Loss::CrossEntropy => {
            Targets::Classes((0..n).map(|_| rng.random_range(0..mlp.outputs())).collect())
        }
    };
    Dataset::new(mlp, x, targets).unwrap()
}

/// The toy's two presets with their SPEC §2 parameter counts.
fn toy_shapes() -> [ToyShape; 2] {
    [
        ToyShape {
            input_dim: 3,
            hidden: 4,
            outputs: 1,
            loss: Loss::Mse,
        },
        ToyShape {
            input_dim: 3,
            hidden: 3,
            outputs: 2,
            loss: Loss::CrossEntropy,
        },
    ]
}

/// The toy dataset `ids` as an MLP dataset (targets `y` for MSE, class `(y + 1)/2` for CE).
fn toy_data<T: peff::model::Scalar>(
    shape: &ToyShape,
    space: &DataSpace,
    ids: &[u32],
) -> Dataset<T> {
    let mlp = Mlp::from_toy(shape).unwrap();
    let x = ids
        .iter()
        .flat_map(|&id| (0..shape.input_dim).map(move |t| T::from_f64(space.input(id, t))))
        .collect();
    let targets = match shape.loss {
        Loss::Mse => Targets::Values(
            ids.iter()
                .flat_map(|&id| (0..shape.outputs).map(move |_| T::from_f64(space.label(id))))
                .collect(),
        ),
        Loss::CrossEntropy => Targets::Classes(
            ids.iter()
                .map(|&id| ((space.label(id) + 1.0) / 2.0) as usize)
                .collect(),
        ),
    };
    Dataset::new(&mlp, x, targets).unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// On the 21-parameter regression net and the 20-parameter classification net, the `f64` core's
/// gradient, `H v`, SynFlow gradient and GD steps equal the toy trainer's to ~1e-12, and the
/// `f32` core's to `f32` rounding; it fails on any difference of index order, loss
/// convention (½, mean over points, temperature) or update rule between the two networks.
#[test]
fn core_equals_the_toy_on_its_presets() {
    for shape in toy_shapes() {
        let mlp = Mlp::from_toy(&shape).unwrap();
        let p = mlp.num_params();
        assert_eq!(p, if shape.loss == Loss::Mse { 21 } else { 20 });
        for seed in 0..6u64 {
            let space = DataSpace { input_dim: 3, n: 6 };
            let ids = space.sample(seed, 0);
            let params = shape.init_params(seed);
            let train = TrainParams { steps: 1, lr: 0.1 };
            let toy = ToyBatch::<1>::new(shape, space, train, &params, &[(0, ids.clone())]);
            let data = toy_data::<f64>(&shape, &space, &ids);
            let mut ws = mlp.workspace(6);
            let temperature = if shape.loss == Loss::Mse { 1.0 } else { 200.0 };
            for t in [1.0, temperature] {
                let (mut g_toy, mut g) = (vec![0.0; p], vec![0.0; p]);
                toy.gradient_at(&params, t, &mut g_toy);
                mlp.gradient(&params, data.batch(), t, &mut ws, &mut g);
                assert!(max_diff(&g, &g_toy) < 1e-12, "gradient, T = {t}");
                let v = mlp.init_params(seed + 100);
                let (mut h_toy, mut h) = (vec![0.0; p], vec![0.0; p]);
                toy.hvp_at(&params, t, &v, &mut h_toy);
                mlp.hvp(&params, data.batch(), t, &v, &mut ws, &mut h);
                assert!(max_diff(&h, &h_toy) < 1e-12, "hvp, T = {t}");
                // f32 core: equal to f32 rounding.
                let p32: Vec<f32> = params.iter().map(|&v| v as f32).collect();
                let data32 = data.convert::<f32>();
                let mut ws32 = mlp.workspace(6);
                let mut g32 = vec![0.0f32; p];
                mlp.gradient(&p32, data32.batch(), t, &mut ws32, &mut g32);
                let g32: Vec<f64> = g32.iter().map(|&v| v as f64).collect();
                let gscale = g_toy.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
                assert!(max_diff(&g32, &g_toy) < 1e-5 * gscale, "f32 gradient");
            }
            let abs: Vec<f64> = params.iter().map(|w| w.abs()).collect();
            let (mut s_toy, mut s) = (vec![0.0; p], vec![0.0; p]);
            shape.synflow_gradient(&abs, &mut s_toy);
            mlp.synflow_gradient(&abs, &mut mlp.workspace(1), &mut s);
            assert!(max_diff(&s, &s_toy) < 1e-12, "synflow gradient");
            // GD: 1 and 50 steps, with a mask.
            let mask: Vec<bool> = (0..p)
                .map(|i| !(i * 7 + seed as usize).is_multiple_of(5))
                .collect();
            let mask_f: Vec<f64> = mask.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
            for steps in [1, 50] {
                let train = TrainParams { steps, lr: 0.1 };
                let toy = ToyBatch::<1>::new(shape, space, train, &params, &[(0, ids.clone())]);
                let mut trained_toy = vec![0.0; p];
                toy.train(&mask_f, &mut trained_toy, &mut [false]);
                let mut trainer =
                    Trainer::<_, f64>::new(&mlp, TrainConfig::full_batch(Optimizer::sgd(0.1)), 6);
                trainer.reset(&params, Some(&mask));
                let outcome = trainer.train(&data, steps, |_, _| Control::Continue);
                assert_eq!(outcome.epochs, steps);
                assert!(
                    max_diff(trainer.params(), &trained_toy) < 1e-12,
                    "{steps} GD steps"
                );
                let mut t32 =
                    Trainer::<_, f32>::new(&mlp, TrainConfig::full_batch(Optimizer::sgd(0.1)), 6);
                let p32: Vec<f32> = params.iter().map(|&v| v as f32).collect();
                t32.reset(&p32, Some(&mask));
                t32.train(&data.convert(), steps, |_, _| Control::Continue);
                let got: Vec<f64> = t32.params().iter().map(|&v| v as f64).collect();
                assert!(max_diff(&got, &trained_toy) < 2e-5, "{steps} f32 GD steps");
            }
        }
    }
}

/// A plain GD or Adam routine for `epochs` epochs.
fn fixed_epochs(epochs: usize) -> impl Fn(&mut Trainer<Mlp, f64>, &Dataset<f64>) -> TrainOutcome {
    move |t, data| t.train(data, epochs, |_, _| Control::Continue)
}

/// With biases opted in, pruning the toy shapes through the MLP's `Networks` gives the toy's
/// masks for every method (the same implementations serve both networks); it fails if the MLP's
/// `Networks` scores, trains or keys random streams differently from the toy's.
#[test]
fn pruning_through_the_mlp_equals_pruning_the_toy() {
    let settings = PruneSettings {
        random_seed: 3,
        synflow_rounds: 100,
        imp_rate: 0.2,
        grasp_temperature: 200.0,
    };
    for shape in toy_shapes() {
        let mlp = Mlp::from_toy(&shape).unwrap();
        let p = mlp.num_params();
        let space = DataSpace { input_dim: 3, n: 6 };
        let init = shape.init_params(1);
        for key in 0..4u64 {
            let ids = space.sample(9, key);
            let train = TrainParams {
                steps: 300,
                lr: 0.1,
            };
            let toy = ToyBatch::<1>::new(shape, space, train, &init, &[(key, ids.clone())]);
            let config = TrainConfig::full_batch(Optimizer::sgd(0.1));
            let nets = ModelNetworks::new(
                &mlp,
                toy_data(&shape, &space, &ids),
                &init,
                key,
                config,
                fixed_epochs(300),
            )
            .prune_biases(true);
            for method in Method::ALL {
                let mut settings = settings;
                if shape.loss == Loss::Mse {
                    settings.grasp_temperature = 1.0;
                }
                let pruner = method.pruner(&settings);
                let ks = pruner.kept_counts(p, &[15, 10, 5, 2]);
                let (a, b) = (pruner.prune(&toy, &ks), pruner.prune(&nets, &ks));
                assert_eq!(a, b, "{} on {:?}, dataset {key}", method.name(), shape.loss);
            }
        }
    }
}

/// Pruning a small MLP through `Networks` keeps exactly `k` weights and every bias, for every
/// method; with `prune_biases` it keeps exactly `k` parameters; it fails if a method counts
/// biases, drops one, or ranks outside the prunable set.
#[test]
fn networks_prune_of_an_mlp_keeps_k_weights_and_every_bias() {
    let mlp = Mlp::new(&[4, 6, 5, 3], Loss::CrossEntropy).unwrap();
    let data = random_data(&mlp, 10, 4);
    let weights = mlp.weight_indices();
    let biases: Vec<usize> = (0..mlp.num_params())
        .filter(|&i| !mlp.is_weight(i))
        .collect();
    let settings = PruneSettings {
        random_seed: 0,
        synflow_rounds: 100,
        imp_rate: 0.2,
        grasp_temperature: 200.0,
    };
    let config = TrainConfig::full_batch(Optimizer::adam(1e-2));
    for prune_biases in [false, true] {
        let nets = ModelNetworks::new(
            &mlp,
            data.clone(),
            &mlp.init_params(2),
            0,
            config,
            fixed_epochs(40),
        )
        .prune_biases(prune_biases);
        let prunable = nets.prunable().len();
        assert_eq!(
            prunable,
            if prune_biases {
                mlp.num_params()
            } else {
                weights.len()
            }
        );
        for method in Method::ALL {
            let pruner = method.pruner(&settings);
            let ks = pruner.kept_counts(prunable, &[40, 20, 7, 1]);
            for pruned in pruner.prune(&nets, &ks) {
                let cut = pruned.lanes[0].as_ref().expect("no lane diverged");
                let kept_weights = weights.iter().filter(|&&i| cut.mask.is_kept(i)).count();
                let kept_biases = biases.iter().filter(|&&i| cut.mask.is_kept(i)).count();
                if prune_biases {
                    assert_eq!(cut.mask.count(), pruned.k, "{}", method.name());
                } else {
                    assert_eq!(kept_weights, pruned.k, "{}", method.name());
                    assert_eq!(kept_biases, biases.len(), "{}", method.name());
                }
            }
        }
    }
}

/// Two Adam steps on three parameters against values computed by hand from the textbook
/// update (`m̂ = m/(1 − β1ᵗ)`, `v̂ = v/(1 − β2ᵗ)`, `θ ← θ − η m̂/(√v̂ + ε)`), with the third
/// parameter masked; it fails on a missing bias correction, a wrong moment update or a leaky
/// mask.
#[test]
fn adam_two_steps_by_hand() {
    let lr = 0.01;
    let mut params = vec![1.0f64, -2.0, 0.0];
    let mut state = OptimizerState::<f64>::new(Optimizer::adam(lr), 3);
    let mask = [1.0, 1.0, 0.0];
    state.step(&mut params, &mut [0.1, -0.2, 5.0], Some(&mask));
    // Step 1: m̂ = g, v̂ = g², so θ ← θ − η g/(|g| + ε).
    assert!((params[0] - (1.0 - lr * 0.1 / (0.1 + 1e-8))).abs() < 1e-15);
    assert!((params[1] - (-2.0 + lr * 0.2 / (0.2 + 1e-8))).abs() < 1e-15);
    state.step(&mut params, &mut [0.3, 0.1, 5.0], Some(&mask));
    // Step 2, parameter 0: m = 0.9·0.01 + 0.1·0.3 = 0.039, v = 0.999·1e-5 + 0.001·0.09 = 9.999e-5,
    // m̂ = 0.039/0.19, v̂ = 9.999e-5/0.001999.
    let m_hat = 0.039 / (1.0 - 0.9f64 * 0.9);
    let v_hat = 9.999e-5 / (1.0 - 0.999f64 * 0.999);
    let want0 = 1.0 - lr * 0.1 / (0.1 + 1e-8) - lr * m_hat / (v_hat.sqrt() + 1e-8);
    assert!(
        (params[0] - want0).abs() < 1e-14,
        "{} vs {want0}",
        params[0]
    );
    // The literal value (m̂ = 0.205263…, √v̂ = 0.223651…): θ0 ≈ 0.9808222…
    assert!((params[0] - 0.980_822_19).abs() < 1e-8, "{}", params[0]);
    // Parameter 1: m = 0.9·(−0.02) + 0.1·0.1 = −0.008, v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5.
    let m_hat = -0.008 / 0.19;
    let v_hat = 4.996e-5 / (1.0 - 0.999f64 * 0.999);
    let want1 = -2.0 + lr * 0.2 / (0.2 + 1e-8) - lr * m_hat / (v_hat.sqrt() + 1e-8);
    assert!(
        (params[1] - want1).abs() < 1e-14,
        "{} vs {want1}",
        params[1]
    );
    assert_eq!(params[2].to_bits(), 0.0f64.to_bits());
}

/// Same seed and configuration → bit-identical parameters (minibatch shuffling and gradient
/// noise included), and forward-only evaluation does not depend on the chunk size; it fails on
/// any unseeded randomness or state leaking between runs.
#[test]
fn training_and_evaluation_are_deterministic() {
    let mlp = Mlp::new(&[6, 10, 10, 1], Loss::Mse).unwrap();
    let data = random_data(&mlp, 25, 2);
    let init: Vec<f32> = mlp.init_params(3).iter().map(|&v| v as f32).collect();
    let config = TrainConfig {
        optimizer: Optimizer::adam(1e-3),
        batch_size: Some(7),
        grad_noise_variance: 0.01,
        seed: 42,
        sparse_below: peff::model::sparse::SparseBelow::MEASURED,
    };
    let data32 = data.convert::<f32>();
    let run = |trainer: &mut Trainer<Mlp, f32>| {
        trainer.reset(&init, None);
        trainer.train(&data32, 20, |_, _| Control::Continue);
        trainer.params().to_vec()
    };
    let mut trainer = Trainer::<_, f32>::new(&mlp, config, 25);
    let first = run(&mut trainer);
    // A second run on the same trainer (reset) and on a fresh one agree bit for bit.
    assert_eq!(first, run(&mut trainer));
    assert_eq!(first, run(&mut Trainer::new(&mlp, config, 25)));
    let other = Trainer::new(&mlp, TrainConfig { seed: 43, ..config }, 25);
    assert_ne!(first, run(&mut other.clone()));
    // Evaluation in chunks of 3 rows equals one pass over all 25.
    let (mut small, mut large) = (mlp.workspace(3), mlp.workspace(25));
    let (mut a, mut b) = (vec![0.0f32; 25], vec![0.0f32; 25]);
    mlp.evaluate(&first, data32.inputs(), 25, &mut small, &mut a);
    mlp.evaluate(&first, data32.inputs(), 25, &mut large, &mut b);
    assert_eq!(a, b);
}

/// The epoch hook sees every epoch in order, can evaluate the network on other inputs and stop
/// it; the loss it reports decreases under GD on a memorisable problem; per-point losses of the
/// last full-batch step are those at the parameters before it.
#[test]
fn epoch_hook_observes_evaluates_and_stops() {
    let mlp = Mlp::new(&[4, 32, 2], Loss::CrossEntropy).unwrap();
    let data = random_data(&mlp, 8, 6);
    let init = mlp.init_params(0);
    let mut trainer = Trainer::<_, f64>::new(&mlp, TrainConfig::full_batch(Optimizer::sgd(0.2)), 8);
    trainer.reset(&init, None);
    let probe = [0.5, -0.5, 1.0, 0.0, 1.0, 1.0, -1.0, 2.0];
    let mut seen = Vec::new();
    let mut outputs = vec![0.0; 4];
    let mut before = vec![0.0; 8];
    let mut now = vec![0.0; 8];
    let threshold = std::f64::consts::LN_2 / 10.0;
    let outcome = trainer.train(&data, 5000, |t, stats| {
        seen.push(stats.epoch);
        t.evaluate(&probe, 2, &mut outputs);
        assert!(outputs.iter().all(|v| v.is_finite()));
        if stats.epoch == 1 {
            before.copy_from_slice(t.last_point_losses().unwrap());
        }
        t.point_losses(&data, &mut now);
        if now.iter().all(|&l| l < threshold) {
            Control::Stop
        } else {
            Control::Continue
        }
    });
    assert!(outcome.stopped && !outcome.diverged);
    assert_eq!(seen, (1..=outcome.epochs).collect::<Vec<_>>());
    let mut at_init = vec![0.0; 8];
    mlp.point_losses(&init, data.batch(), &mut mlp.workspace(8), &mut at_init);
    assert_eq!(before, at_init);
}

/// A learning rate far too large diverges, and the run says so instead of returning NaNs as
/// trained weights.
#[test]
fn divergence_is_reported() {
    let mlp = Mlp::new(&[3, 16, 16, 1], Loss::Mse).unwrap();
    let data = random_data(&mlp, 10, 3);
    let mut trainer =
        Trainer::<_, f32>::new(&mlp, TrainConfig::full_batch(Optimizer::sgd(50.0)), 10);
    let init: Vec<f32> = mlp.init_params(1).iter().map(|&v| v as f32).collect();
    trainer.reset(&init, None);
    let outcome = trainer.train(&data.convert(), 1000, |_, _| Control::Continue);
    assert!(outcome.diverged && outcome.epochs < 1000);
}

/// Invalid shapes and datasets are refused with a message naming the problem.
#[test]
fn bad_shapes_and_data_are_refused() {
    let mlp = Mlp::new(&[2, 3, 2], Loss::CrossEntropy).unwrap();
    let err = Dataset::new(&mlp, vec![1.0, 2.0, 3.0], Targets::Classes(vec![0])).unwrap_err();
    assert!(err.to_string().contains("inputs"), "{err}");
    let err = Dataset::new(&mlp, vec![1.0, 2.0], Targets::Classes(vec![2])).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
    let err = Dataset::new(&mlp, vec![1.0, 2.0], Targets::Values(vec![0.0, 1.0])).unwrap_err();
    assert!(err.to_string().contains("class"), "{err}");
    let err = Dataset::new(&mlp, vec![f64::NAN, 2.0], Targets::Classes(vec![0])).unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
    assert!(Dataset::<f64>::new(&mlp, vec![], Targets::Classes(vec![])).is_err());
}
