//! Exact enumeration against brute force, the pruning methods' contracts, and determinism.

use peff::data::{multinomial_weight, DataSpace};
use peff::experiments::toy::{enumerate_datasets, sample_datasets, Dataset, ToyExperiment};
use peff::export::to_csv;
use peff::model::toy::lanes::{ToyBatch, TrainParams};
use peff::model::toy::{Loss, ToyShape};
use peff::model::Networks;
use peff::prune::{Method, PruneSettings};
use peff::report::exact_rows;

fn tiny(loss: Loss, d: usize, n: usize, steps: usize) -> ToyExperiment {
    let shape = ToyShape {
        input_dim: d,
        hidden: 3,
        outputs: if loss == Loss::Mse { 1 } else { 2 },
        loss,
    };
    let p = shape.num_params();
    ToyExperiment {
        task: "test".into(),
        shape,
        space: DataSpace { input_dim: d, n },
        train: TrainParams { steps, lr: 0.1 },
        prune: PruneSettings {
            random_seed: 0,
            synflow_rounds: 100,
            imp_rate: 0.2,
            grasp_temperature: if loss == Loss::Mse { 1.0 } else { 200.0 },
        },
        methods: Method::ALL.to_vec(),
        requested_k: (1..p).rev().collect(),
        init: shape.init_params(3),
        init_seed: Some(3),
    }
}

/// Every ordered dataset (all V^n tuples), weight 1, keyed by its rank.
fn all_ordered(space: DataSpace) -> Vec<Dataset> {
    let v = space.num_points() as u64;
    let total = v.pow(space.n as u32);
    (0..total)
        .map(|code| {
            let mut ids: Vec<u32> = (0..space.n)
                .map(|i| (code / v.pow(i as u32) % v) as u32)
                .collect();
            ids.sort_unstable();
            Dataset {
                key: code,
                ids,
                weight: 1,
            }
        })
        .collect()
}

/// The exact entropy from weighted multisets equals the entropy over all V^n ordered datasets
/// (each weight 1), for every method and k; fails if a multinomial weight, the multiset
/// enumeration or canonicalisation were wrong.
#[test]
fn multisets_match_brute_force_over_ordered_datasets() {
    for (loss, d, n) in [
        (Loss::Mse, 1, 3),
        (Loss::Mse, 2, 3),
        (Loss::CrossEntropy, 1, 3),
    ] {
        let exp = tiny(loss, d, n, 200);
        let exact = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
        let brute = exp.tally(all_ordered(exp.space).into_iter(), false, &|_| {});
        for ((e, b), key) in exact.iter().zip(&brute).zip(exp.rows()) {
            if !exp.is_tallied(key.method, false) {
                continue;
            }
            assert_eq!(e.total_weight, b.total_weight);
            assert_eq!(e.sorted(), b.sorted(), "{:?} k={}", key.method, key.k);
            assert!((e.entropy_bits() - b.entropy_bits()).abs() < 1e-12);
        }
    }
}

/// Weights of a brute-force tally are exactly the multinomial coefficients.
#[test]
fn multinomial_weights_count_orderings() {
    assert_eq!(multinomial_weight(&[0, 0, 1]), 3);
    assert_eq!(multinomial_weight(&[0, 1, 2]), 6);
    assert_eq!(multinomial_weight(&[4, 4, 4, 4, 4, 4]), 1);
    assert_eq!(multinomial_weight(&[0, 0, 1, 1, 2, 3]), 180);
}

/// Every mask of every method keeps exactly the requested k (IMP: the k its schedule visits),
/// on random datasets of both presets.
#[test]
fn every_mask_has_the_requested_popcount() {
    for loss in [Loss::Mse, Loss::CrossEntropy] {
        let mut exp = tiny(loss, 3, 6, 100);
        exp.shape.hidden = if loss == Loss::Mse { 4 } else { 3 };
        exp.init = exp.shape.init_params(1);
        let p = exp.num_params();
        let datasets: Vec<(u64, Vec<u32>)> = (0..8).map(|i| (i, exp.space.sample(9, i))).collect();
        let batch = ToyBatch::<8>::new(exp.shape, exp.space, exp.train, &exp.init, &datasets);
        for method in Method::ALL {
            let pruner = method.pruner(&exp.prune);
            let ks = pruner.kept_counts(p, &(1..p).collect::<Vec<_>>());
            for pruned in pruner.prune(&batch, &ks) {
                for cut in pruned.lanes.iter().flatten() {
                    assert_eq!(cut.mask.count(), pruned.k, "{method:?}");
                }
            }
        }
    }
}

/// IMP's reported kept counts on p = 21 are its schedule 16, 12, 9, 7, 5, 4, 3, 2, 1, and each
/// IMP mask is nested in the previous one (a pruned parameter never returns).
#[test]
fn imp_visits_its_schedule_with_nested_masks() {
    let mut exp = tiny(Loss::Mse, 3, 6, 100);
    exp.shape.hidden = 4;
    exp.init = exp.shape.init_params(0);
    let pruner = Method::Imp.pruner(&exp.prune);
    let ks = pruner.kept_counts(21, &(1..21).collect::<Vec<_>>());
    assert_eq!(ks, vec![16, 12, 9, 7, 5, 4, 3, 2, 1]);
    let batch = ToyBatch::<1>::new(
        exp.shape,
        exp.space,
        exp.train,
        &exp.init,
        &[(0, exp.space.sample(0, 0))],
    );
    let pruned = pruner.prune(&batch, &ks);
    for pair in pruned.windows(2) {
        let (outer, inner) = (
            pair[0].lanes[0].as_ref().unwrap(),
            pair[1].lanes[0].as_ref().unwrap(),
        );
        assert!(inner.mask.kept().all(|i| outer.mask.is_kept(i)));
    }
}

/// SynFlow ignores the data: its exact entropy is 0 at every k, with one distinct mask; random
/// pruning reports its closed form log2 C(p, k) and zero MI.
#[test]
fn synflow_entropy_is_exactly_zero_and_random_is_closed_form() {
    let exp = tiny(Loss::Mse, 2, 3, 50);
    let tallies = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
    for row in exact_rows(&exp, &tallies) {
        match row.method.as_str() {
            "synflow" => {
                assert_eq!(row.entropy_bits, Some(0.0));
                assert_eq!(row.distinct_masks, 1);
            }
            "random" => {
                assert_eq!(row.entropy_bits, Some(row.ceiling_bits));
                assert_eq!(row.mi_bits, Some(0.0));
            }
            _ => assert!(row.entropy_bits.unwrap() <= row.ceiling_bits + 1e-12),
        }
    }
}

/// A 2-point example computed by hand (d = 1, h = 1, o = 1, MSE): θ0 = (W1, b1, W2, b2) =
/// (0.5, 0.1, −0.4, 0.2), points (x, y) = (+1, +1) and (−1, −1).
/// Point 1: z = 0.6, f = −0.04, r = −1.04; point 2: z = −0.4 (dead), f = 0.2, r = 1.2.
/// g = (½ r1 W2 x1, ½ r1 W2, ½ r1 z1, ½ (r1 + r2)) = (0.208, 0.208, −0.312, 0.08).
/// SNIP |θ0 ⊙ g| = (0.104, 0.0208, 0.1248, 0.016) → top-2 {W1, W2}.
/// H g = ½ [J1 (J1·g) + r1 ∇²f1 g + J2 (J2·g)], J1 = (−0.4, −0.4, 0.6, 1), J1·g = −0.2736,
/// ∇²f1 g = (g_W2, g_W2, g_W1 + g_b1, 0), J2 = (0, 0, 0, 1):
/// H g = (0.21696, 0.21696, −0.2984, −0.0968); GraSP θ0 ⊙ Hg = (0.10848, 0.021696, 0.11936,
/// −0.01936) → top-2 {W1, W2}, top-3 adds b1, top-1 {W2}.
#[test]
fn snip_and_grasp_match_hand_computation() {
    let shape = ToyShape {
        input_dim: 1,
        hidden: 1,
        outputs: 1,
        loss: Loss::Mse,
    };
    let space = DataSpace { input_dim: 1, n: 2 };
    let init = [0.5, 0.1, -0.4, 0.2];
    let batch = ToyBatch::<1>::new(
        shape,
        space,
        TrainParams { steps: 1, lr: 0.1 },
        &init,
        &[(0, vec![0, 3])],
    );
    let mut g = vec![0.0; 4];
    batch.gradient_at_init(1.0, &mut g);
    for (a, b) in g.iter().zip([0.208, 0.208, -0.312, 0.08]) {
        assert!((a - b).abs() < 1e-12, "{g:?}");
    }
    let mut hg = vec![0.0; 4];
    batch.hvp_at_init(1.0, &g, &mut hg);
    for (a, b) in hg.iter().zip([0.21696, 0.21696, -0.2984, -0.0968]) {
        assert!((a - b).abs() < 1e-12, "{hg:?}");
    }
    let settings = PruneSettings {
        random_seed: 0,
        synflow_rounds: 100,
        imp_rate: 0.2,
        grasp_temperature: 1.0,
    };
    let kept = |method: Method, k: usize| -> Vec<usize> {
        method.pruner(&settings).prune(&batch, &[k])[0].lanes[0]
            .as_ref()
            .unwrap()
            .mask
            .kept()
            .collect()
    };
    assert_eq!(kept(Method::Snip, 2), vec![0, 2]);
    assert_eq!(kept(Method::Snip, 1), vec![2]);
    assert_eq!(kept(Method::Grasp, 2), vec![0, 2]);
    assert_eq!(kept(Method::Grasp, 3), vec![0, 1, 2]);
    assert_eq!(kept(Method::Grasp, 1), vec![2]);
}

/// The CSV of an exact run is byte-identical with 1 and 2 worker threads (integer tallies).
#[test]
fn exact_csv_is_identical_for_any_thread_count() {
    let exp = tiny(Loss::Mse, 2, 4, 100);
    let csv_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let tallies = pool.install(|| exp.tally(enumerate_datasets(exp.space), false, &|_| {}));
        to_csv(&exact_rows(&exp, &tallies)).unwrap()
    };
    assert_eq!(csv_with(1), csv_with(2));
}

/// Sampling agrees with enumeration: with N = 20,000 sampled datasets the plug-in entropy of
/// each deterministic method is within sampling error of the exact value (plug-in bias is at
/// most (m − 1)/(2N ln 2) bits here; the tolerance adds 0.03 bits of noise).
#[test]
fn sampled_plugin_agrees_with_exact() {
    let exp = tiny(Loss::Mse, 2, 3, 100);
    let exact = exp.tally(enumerate_datasets(exp.space), false, &|_| {});
    let n = 20_000;
    let sampled = exp.tally(sample_datasets(exp.space, 1, 0..n), true, &|_| {});
    for ((e, s), key) in exact.iter().zip(&sampled).zip(exp.rows()) {
        if !exp.is_tallied(key.method, false) {
            continue;
        }
        let bias = (s.distinct() as f64 - 1.0) / (2.0 * n as f64 * std::f64::consts::LN_2);
        let diff = e.entropy_bits() - s.entropy_bits();
        assert!(
            diff > -0.03 && diff < bias + 0.03,
            "{:?} k={} exact {} sampled {}",
            key.method,
            key.k,
            e.entropy_bits(),
            s.entropy_bits()
        );
    }
}
