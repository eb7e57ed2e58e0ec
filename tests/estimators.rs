//! Property tests of the entropy estimators (SPEC §5) and of the counts-file parser.
//!
//! Sampling here uses its own inverse-CDF sampler (independent of the library's
//! `multinomial_sample`), except where the library sampler itself is under test.

use peff::info::counts::*;
use peff::info::estimators::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};
use statrs::distribution::{Binomial, Discrete, Geometric};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn entropy_bits(p: &[f64]) -> f64 {
    p.iter().filter(|&&q| q > 0.0).map(|&q| -q * q.log2()).sum()
}

fn normalise(w: Vec<f64>) -> Vec<f64> {
    let s: f64 = w.iter().sum();
    w.into_iter().map(|x| x / s).collect()
}

fn uniform(k: usize) -> Vec<f64> {
    vec![1.0 / k as f64; k]
}

fn zipf(k: usize, s: f64) -> Vec<f64> {
    normalise((1..=k).map(|i| (i as f64).powf(-s)).collect())
}

/// Geometric(q) pmf from statrs, truncated to `{1..k}` and renormalised.
fn truncated_geometric(k: usize, q: f64) -> Vec<f64> {
    let g = Geometric::new(q).expect("0 < q <= 1");
    normalise((1..=k as u64).map(|i| g.pmf(i)).collect())
}

/// A draw from Dirichlet(α, …, α) via normalised Gamma(α, 1) variates.
fn dirichlet(k: usize, alpha: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let g = Gamma::new(alpha, 1.0).expect("alpha > 0");
    let w: Vec<f64> = (0..k).map(|_| g.sample(rng).max(1e-300)).collect();
    normalise(w)
}

/// Counts of `n` i.i.d. draws from `p`, by inverse CDF (binary search on the cumulative sums).
fn sample_counts(p: &[f64], n: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(p.len());
    let mut acc = 0.0;
    for &q in p {
        acc += q;
        cdf.push(acc);
    }
    let mut counts = vec![0u64; p.len()];
    for _ in 0..n {
        let u: f64 = rng.random::<f64>() * acc;
        let i = cdf.partition_point(|&c| c <= u).min(p.len() - 1);
        counts[i] += 1;
    }
    counts
}

/// Tolerance (bits) for |estimate − H| at sample size `n` from `p` over `k` bins.
///
/// `7σ`, with σ² = Var[log2 p(X)]/N the first-order variance of every estimator here, plus
/// `factor` times a bound on the O(K/N) bias/second-order terms: the plug-in's deficit is
/// χ²_{K−1}/(2N ln 2) to second order, and `K + 10√(2K) + 20` bounds that χ² far in its tail.
fn tolerance(p: &[f64], n: usize, factor: f64) -> f64 {
    let h = entropy_bits(p);
    let var: f64 = p
        .iter()
        .filter(|&&q| q > 0.0)
        .map(|&q| q * (q.log2() + h).powi(2))
        .sum();
    let k = p.len() as f64;
    let n = n as f64;
    let sigma = (var / n).sqrt();
    let second_order = (k + 10.0 * (2.0 * k).sqrt() + 20.0) / (2.0 * n * std::f64::consts::LN_2);
    7.0 * sigma + factor * second_order + 1e-9
}

/// Per-estimator multiplier of the O(K/N) term: the bias-corrected estimators can over-correct
/// by up to the plug-in's own bias, and shrinkage/NSB pull toward the uniform over `A = K` by
/// O(K/N) when the data are near-uniform.
fn bias_factor(e: Estimator) -> f64 {
    match e {
        Estimator::Plugin => 1.0,
        Estimator::Shrink | Estimator::Nsb => 3.0,
        _ => 2.0,
    }
}

fn all_bits(counts: &[u64], alphabet: f64) -> Vec<u64> {
    Estimator::ALL
        .iter()
        .map(|&e| {
            estimate(e, counts, alphabet)
                .expect("valid counts")
                .to_bits()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Estimators
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Property: for distributions with known entropy (uniform, Zipf, truncated geometric and a
    /// Dirichlet draw), every estimator lands within `tolerance(p, N, bias_factor(e))` of the
    /// truth, a bound that shrinks like 1/√N + K/N, at N = 2,000, 8,000 and 32,000.
    /// Could fail if an estimator's formula is wrong (a wrong constant shows as an O(1) or
    /// O(K/N) offset beyond the bound), if it does not converge (e.g. a coverage term that does
    /// not vanish), or if nats and bits are mixed up.
    #[test]
    fn estimators_converge_to_known_entropy(
        family in 0usize..4,
        k in 2usize..60,
        shape in 0.1f64..2.0,
        size in 0usize..3,
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let p = match family {
            0 => uniform(k),
            1 => zipf(k, 0.5 + shape),
            2 => truncated_geometric(k, 0.05 + 0.4 * shape),
            _ => dirichlet(k, shape, &mut rng),
        };
        let n = [2_000, 8_000, 32_000][size];
        let counts = sample_counts(&p, n, &mut rng);
        let truth = entropy_bits(&p);
        for e in Estimator::ALL {
            let est = estimate(e, &counts, k as f64).expect("non-empty counts");
            let tol = tolerance(&p, n, bias_factor(e));
            prop_assert!(
                (est - truth).abs() <= tol,
                "{e} family {family} k {k} n {n}: {est} vs H = {truth} (tol {tol})"
            );
        }
    }

    /// Property: the structure of a mask, independent Bernoulli bits, has H = Σ_j h(q_j).
    /// (a) Counts exactly proportional to the product distribution (q_j = k_j/8, so
    /// n_x = Π_j (k_j or 8 − k_j)) make p̂ = p, and the plug-in must return Σ h(q_j) to 1e-12.
    /// (b) Sampled counts bring every estimator within its tolerance of Σ h(q_j).
    /// Could fail if the plug-in mishandles large or repeated counts, or if an estimator is
    /// biased on product-structured (many equal counts) distributions.
    #[test]
    fn independent_bernoulli_bits(ks in prop::collection::vec(1u64..8, 1..6), seed in any::<u64>()) {
        let d = ks.len();
        let h = |q: f64| -q * q.log2() - (1.0 - q) * (1.0 - q).log2();
        let truth: f64 = ks.iter().map(|&k| h(k as f64 / 8.0)).sum();
        let outcomes = 1usize << d;
        let exact: Vec<u64> = (0..outcomes)
            .map(|x| (0..d).map(|j| if x >> j & 1 == 1 { ks[j] } else { 8 - ks[j] }).product())
            .collect();
        let got = plugin(&exact).expect("positive counts");
        prop_assert!((got - truth).abs() <= 1e-12, "plugin {got} vs {truth}");

        let p: Vec<f64> = exact.iter().map(|&c| c as f64 / 8f64.powi(d as i32)).collect();
        let n = 20_000;
        let counts = sample_counts(&p, n, &mut ChaCha8Rng::seed_from_u64(seed));
        for e in Estimator::ALL {
            let est = estimate(e, &counts, outcomes as f64).expect("non-empty counts");
            let tol = tolerance(&p, n, bias_factor(e));
            prop_assert!((est - truth).abs() <= tol, "{e}: {est} vs {truth} (tol {tol})");
        }
    }

    /// Property: every estimator (and the whole `estimate_all` output, bootstrap included)
    /// depends only on the multiset of non-zero counts: permuting the counts and inserting zero
    /// counts gives bit-identical results.
    /// Could fail if an estimator counted zero bins in m or K, used the position of a count,
    /// or if the bootstrap resampled in input order.
    #[test]
    fn invariant_to_permutation_and_zeros(
        counts in prop::collection::vec(0u64..40, 1..40),
        zeros in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        seed in any::<u64>(),
    ) {
        prop_assume!(counts.iter().any(|&c| c > 0));
        let mut other = counts.clone();
        // Fisher–Yates with a seeded RNG, then zeros at arbitrary positions
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in (1..other.len()).rev() {
            other.swap(i, rng.random_range(0..=i));
        }
        for z in &zeros {
            let at = z.index(other.len() + 1);
            other.insert(at, 0);
        }
        let alphabet = (other.len() + 3) as f64;
        prop_assert_eq!(all_bits(&counts, alphabet), all_bits(&other, alphabet));
        let cfg = BootstrapConfig { resamples: 40, confidence: 0.9, seed };
        let a = estimate_all(&counts, alphabet, &cfg).expect("valid");
        let b = estimate_all(&other, alphabet, &cfg).expect("valid");
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    /// Property: Miller–Madow is the plug-in plus (m − 1)/(2N ln 2) bits, to 1e-12, with m the
    /// number of non-zero bins. Could fail if zero bins were counted in m, if the correction
    /// were added in nats to a value in bits, or if N were miscounted.
    #[test]
    fn miller_madow_is_plugin_plus_correction(counts in prop::collection::vec(0u64..1000, 1..50)) {
        prop_assume!(counts.iter().any(|&c| c > 0));
        let m = counts.iter().filter(|&&c| c > 0).count() as f64;
        let n: u64 = counts.iter().sum();
        let want = plugin(&counts).unwrap() + (m - 1.0) / (2.0 * n as f64 * std::f64::consts::LN_2);
        let got = miller_madow(&counts).unwrap();
        prop_assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
    }

    /// Property: 0 ≤ plugin ≤ log2 m ≤ log2 K (the uniform over the observed bins maximises the
    /// plug-in). Could fail if p̂ were not normalised, if zero bins contributed, or on rounding
    /// in −p ln p for large counts (hence the 1e-12 slack).
    #[test]
    fn plugin_is_bounded_by_log_of_support(counts in prop::collection::vec(0u64..1_000_000, 1..60)) {
        prop_assume!(counts.iter().any(|&c| c > 0));
        let m = counts.iter().filter(|&&c| c > 0).count() as f64;
        let h = plugin(&counts).unwrap();
        prop_assert!(h >= 0.0);
        prop_assert!(h <= m.log2() + 1e-12, "{h} > log2 m = {}", m.log2());
        prop_assert!(m.log2() <= (counts.len() as f64).log2());
    }

    /// Property: with all counts 1 (f1 = N), Chao–Shen stays finite thanks to the f1 = N − 1
    /// rule, and exceeds the plug-in log2 N; the other estimators are finite too. A single
    /// symbol gives exactly 0 for plugin, miller_madow, chao_shen, chao_wang_jost and jackknife.
    /// Could fail without the f1 rule (coverage C = 0 makes pa = 0 and 0/0), or if the
    /// single-symbol case produced −0·ln 1 rounding or a spurious correction.
    #[test]
    fn singletons_and_single_symbol(n in 1usize..2000, count in 1u64..1_000_000_000) {
        let ones = vec![1u64; n];
        let cs = chao_shen(&ones).unwrap();
        prop_assert!(cs.is_finite());
        if n > 1 {
            prop_assert!(cs > (n as f64).log2());
        }
        for e in Estimator::ALL {
            prop_assert!(estimate(e, &ones, n as f64).unwrap().is_finite(), "{}", e);
        }
        for e in [Estimator::Plugin, Estimator::MillerMadow, Estimator::ChaoShen,
                  Estimator::ChaoWangJost, Estimator::Jackknife] {
            let h = estimate(e, &[0, count, 0], 3.0).unwrap();
            prop_assert!(h == 0.0, "{e} of a single symbol = {h}");
        }
    }

    /// Property: shrink and NSB estimate the entropy of a distribution over A letters, so both
    /// lie in [0, log2 A] (NSB's posterior mean averages H(p) ∈ [0, ln A] over p), with λ in
    /// [0, 1] and a finite, non-negative posterior s.d., for any counts (huge ones included)
    /// and any alphabet from m up to 1e300. Could fail on numerical breakdown of the NSB
    /// quadrature (overflow of Aβ, a lost peak, cancellation in the variance) or of λ.
    #[test]
    fn shrink_and_nsb_stay_in_range(
        counts in prop::collection::vec(prop_oneof![0u64..5, 0u64..1_000_000_000_000], 1..30),
        log_extra in 0.0f64..690.0,
    ) {
        let m = counts.iter().filter(|&&c| c > 0).count();
        prop_assume!(m > 0);
        let alphabet = m as f64 * log_extra.exp();
        let s = shrink(&counts, alphabet).unwrap();
        prop_assert!((0.0..=1.0).contains(&s.lambda));
        prop_assert!(s.bits >= -1e-12 && s.bits <= alphabet.log2() + 1e-9, "shrink {}", s.bits);
        let r = nsb(&counts, alphabet).unwrap();
        prop_assert!(r.bits >= -1e-12 && r.bits <= alphabet.log2() + 1e-9,
            "nsb {} for A = {alphabet:e}", r.bits);
        prop_assert!(r.posterior_sd_bits.is_finite() && r.posterior_sd_bits >= 0.0);
        let n: u64 = counts.iter().sum();
        prop_assert_eq!(r.bounded, n > m as u64);
    }

    /// Property: the mean of the plug-in over R = 4,000 seeded multinomial samples (drawn with
    /// the library's `multinomial_sample`, both of its methods: direct draws for small N and
    /// conditional binomials for N > 16K) matches the exact expectation of SPEC §5,
    /// E[H_ML] = Σ_i Σ_k C(N,k) p_i^k (1−p_i)^{N−k} (−(k/N) ln(k/N)) (statrs binomial pmf),
    /// within 5 standard errors. Could fail if the sampler were biased (wrong conditional
    /// probabilities, an off-by-one in the table), or if the plug-in were wrong.
    #[test]
    fn plugin_mean_matches_exact_expectation(
        weights in prop::collection::vec(1u64..20, 2..6),
        n in prop_oneof![1u64..40, 100u64..400],
        seed in any::<u64>(),
    ) {
        let total: u64 = weights.iter().sum();
        let nf = n as f64;
        let mut exact = 0.0;
        for &w in &weights {
            let b = Binomial::new(w as f64 / total as f64, n).expect("valid binomial");
            for k in 1..=n {
                let q = k as f64 / nf;
                exact += b.pmf(k) * (-q * q.ln());
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let r = 4000;
        let values: Vec<f64> = (0..r)
            .map(|_| {
                let c = multinomial_sample(&weights, n, &mut rng).expect("valid weights");
                prop_assert_eq!(c.iter().sum::<u64>(), n);
                Ok(plugin(&c).expect("n > 0") * std::f64::consts::LN_2)
            })
            .collect::<Result<_, TestCaseError>>()?;
        let mean = values.iter().sum::<f64>() / r as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r as f64 - 1.0);
        let se = (var / r as f64).sqrt();
        prop_assert!((mean - exact).abs() <= 5.0 * se + 1e-12,
            "mean {mean} vs exact {exact} (se {se}), n {n}, weights {weights:?}");
    }

    /// Property: the bootstrap is deterministic for a seed (bit-identical rows), and in the
    /// usual case (N ≫ K, a clearly non-uniform p̂ so that the plug-in's bootstrap spread exceeds
    /// its O(K/N) bias) the basic interval of the plug-in contains the estimate. Every interval
    /// is ordered, and only NSB/shrink carry their extra fields.
    /// Could fail if the RNG were not seeded from the config, if the quantiles were swapped
    /// (basic vs percentile), or if the interval were built around the wrong centre.
    #[test]
    fn bootstrap_deterministic_and_covers_plugin(
        weights in prop::collection::vec(1u64..20, 2..8),
        seed in any::<u64>(),
    ) {
        let n = 5000;
        let p: Vec<f64> = normalise(weights.iter().map(|&w| w as f64).collect());
        let counts = sample_counts(&p, n, &mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
        let m = counts.iter().filter(|&&c| c > 0).count() as f64;
        let h = plugin(&counts).unwrap() * std::f64::consts::LN_2;
        let spread: f64 = counts.iter().filter(|&&c| c > 0)
            .map(|&c| { let q = c as f64 / n as f64; q * (q.ln() + h).powi(2) })
            .sum::<f64>();
        prop_assume!(1.96 * (spread / n as f64).sqrt() >= 3.0 * (m - 1.0) / (2.0 * n as f64));

        let cfg = BootstrapConfig { resamples: 200, confidence: 0.95, seed };
        let alphabet = weights.len() as f64;
        let a = estimate_all(&counts, alphabet, &cfg).expect("valid");
        let b = estimate_all(&counts, alphabet, &cfg).expect("valid");
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let other = estimate_all(&counts, alphabet, &BootstrapConfig { seed: seed.wrapping_add(1), ..cfg })
            .expect("valid");
        prop_assert_ne!(format!("{a:?}"), format!("{other:?}"));

        prop_assert_eq!(a.len(), Estimator::ALL.len());
        for (row, e) in a.iter().zip(Estimator::ALL) {
            prop_assert_eq!(row.estimator, e);
            prop_assert!(row.ci_low_bits <= row.ci_high_bits);
            prop_assert_eq!(row.posterior_sd_bits.is_some(), e == Estimator::Nsb);
            prop_assert_eq!(row.bounded.is_some(), e == Estimator::Nsb);
            prop_assert_eq!(row.shrinkage_lambda.is_some(), e == Estimator::Shrink);
            let point = estimate(e, &counts, alphabet).unwrap();
            prop_assert!((row.estimate_bits - point).abs() <= 1e-12);
        }
        let plug = &a[0];
        prop_assert!(plug.ci_low_bits <= plug.estimate_bits && plug.estimate_bits <= plug.ci_high_bits,
            "plugin {} not in [{}, {}]", plug.estimate_bits, plug.ci_low_bits, plug.ci_high_bits);
    }
}

#[test]
fn errors_for_empty_input_and_small_alphabet() {
    assert_eq!(plugin(&[]), Err(EstimateError::EmptyInput));
    assert_eq!(nsb(&[0, 0, 0], 3.0).unwrap_err(), EstimateError::EmptyInput);
    assert_eq!(
        estimate(Estimator::Shrink, &[1, 1, 1], 2.0),
        Err(EstimateError::AlphabetTooSmall {
            alphabet: 2.0,
            observed: 3
        })
    );
    // the alphabet is ignored (not validated) by estimators that do not use it
    assert!(estimate(Estimator::Plugin, &[1, 1, 1], 2.0).is_ok());
    assert!(matches!(
        estimate_all(&[1, 2], f64::INFINITY, &BootstrapConfig::default()),
        Err(EstimateError::InvalidAlphabet { .. })
    ));
}

/// NSB without coincidences is flagged as prior-dominated but still returns a finite number;
/// with coincidences it is bounded, and its s.d. shrinks as the sample grows.
#[test]
fn nsb_bounded_flag_and_posterior_sd() {
    let r = nsb(&[1; 50], 1e6).unwrap();
    assert!(!r.bounded && r.bits.is_finite() && r.posterior_sd_bits > 0.0);
    let small = nsb(&[4, 3, 2, 1], 4.0).unwrap();
    let large = nsb(&[400, 300, 200, 100], 4.0).unwrap();
    assert!(small.bounded && large.bounded);
    assert!(large.posterior_sd_bits < small.posterior_sd_bits / 5.0);
    // posterior mean of a well-sampled 4-letter source is near its plug-in value
    assert!((large.bits - plugin(&[400, 300, 200, 100]).unwrap()).abs() < 0.01);
}

// ---------------------------------------------------------------------------------------------
// Counts files
// ---------------------------------------------------------------------------------------------

/// The 1-based line number that an error message names, if any.
fn named_line(message: &str) -> Option<usize> {
    message
        .strip_prefix("line ")?
        .split(':')
        .next()?
        .parse()
        .ok()
}

/// Fragments that exercise every branch of the parser when concatenated.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("mask,count".to_string()),
        Just(",".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("-".to_string()),
        Just("18446744073709551615".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("\u{feff}".to_string()),
        "[0-9]{1,4}",
        "[a-z.+]{1,3}",
        any::<char>().prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Property: `parse_counts` never panics, whatever the bytes, and every error is one line
    /// that, when it names a line, names one that exists in the input. Could fail on integer
    /// overflow, slicing inside a UTF-8 character, or an off-by-one in line numbering.
    #[test]
    fn parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_parse_outcome(&bytes)?;
    }

    /// Same property on inputs assembled from format fragments (headers, commas, signs, huge
    /// numbers, CRLF, BOM), which reach the deeper branches that random bytes rarely do.
    #[test]
    fn parse_never_panics_on_fragments(parts in prop::collection::vec(fragment(), 0..40)) {
        check_parse_outcome(parts.concat().as_bytes())?;
    }

    /// Property: a valid file (plain or CSV, optional header, random blank lines, padding and
    /// CRLF) round-trips: the parsed counts and labels equal those written. Could fail if
    /// whitespace or `\r` leaked into labels or counts, if blank lines were counted, or if the
    /// header were taken for data.
    #[test]
    fn valid_files_round_trip(
        rows in prop::collection::btree_map("[A-Za-z0-9_]{1,10}", 0u64..1_000_000_000_000, 1..30),
        csv in any::<bool>(),
        header in any::<bool>(),
        crlf in any::<bool>(),
        noise in prop::collection::vec((0usize..3, 0usize..3), 30),
    ) {
        let (labels, counts): (Vec<String>, Vec<u64>) = rows.into_iter().unzip();
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        if csv && header {
            text.push_str("mask,count");
            text.push_str(eol);
        }
        for (i, (label, count)) in labels.iter().zip(&counts).enumerate() {
            let (blank, pad) = noise[i];
            text.push_str(&eol.repeat(blank));
            let pad = " \t".repeat(pad);
            if csv {
                text.push_str(&format!("{pad}{label}{pad},{pad}{count}{pad}{eol}"));
            } else {
                text.push_str(&format!("{pad}{count}{pad}{eol}"));
            }
        }
        let parsed = parse_counts(text.as_bytes()).expect("valid file");
        prop_assert_eq!(parsed.counts, counts);
        prop_assert_eq!(parsed.labels, csv.then_some(labels));
    }

    /// Property: replacing line j of a valid file by a bad line gives an error that names
    /// line j. Could fail if line numbers skipped blank lines, were 0-based, or pointed at the
    /// first occurrence instead of the offending line.
    #[test]
    fn errors_name_the_offending_line(
        n in 1usize..20,
        at in any::<prop::sample::Index>(),
        csv in any::<bool>(),
        bad in 0usize..6,
    ) {
        let j = at.index(n);
        let mut lines: Vec<String> = (0..n)
            .map(|i| if csv { format!("m{i},{i}") } else { format!("{i}") })
            .collect();
        lines[j] = match (csv, bad) {
            (_, 0) => if csv { "x,-3".into() } else { "-3".into() },
            (_, 1) => if csv { "x,1.5".into() } else { "1.5".into() },
            (_, 2) => if csv { "x,99999999999999999999".into() } else { "99999999999999999999".into() },
            (true, 3) => "x,1,2".into(),
            (true, 4) if j > 0 => "m0,7".into(),
            (true, _) => ",4".into(),
            (false, _) => "a,4".into(),
        };
        let text = lines.join("\n");
        let result = parse_counts(text.as_bytes());
        if !csv && j == 0 && bad >= 3 {
            // a first line with a comma selects CSV, so the file fails on line 2 instead
            // (or parses, if it is a single line)
            match result {
                Ok(file) => prop_assert!(n == 1 && file.counts == vec![4]),
                Err(e) => prop_assert_eq!(named_line(&e.to_string()), Some(2), "{}", e),
            }
        } else {
            let message = result.expect_err("one bad line").to_string();
            prop_assert_eq!(named_line(&message), Some(j + 1), "{}", message);
        }
    }
}

fn check_parse_outcome(bytes: &[u8]) -> Result<(), TestCaseError> {
    match parse_counts(bytes) {
        Ok(file) => {
            prop_assert!(!file.counts.is_empty());
            prop_assert!(file
                .counts
                .iter()
                .try_fold(0u64, |a, &c| a.checked_add(c))
                .is_some());
            if let Some(labels) = &file.labels {
                prop_assert_eq!(labels.len(), file.counts.len());
                prop_assert!(labels.iter().all(|l| !l.is_empty() && !l.contains(',')));
            }
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(!message.contains('\n'), "multi-line message {:?}", message);
            if let Some(line) = named_line(&message) {
                let lines = bytes.split(|&b| b == b'\n').count();
                prop_assert!(line >= 1 && line <= lines, "line {} of {}", line, lines);
            }
        }
    }
    Ok(())
}

/// Issue 20: bootstrap intervals excluded their own estimate (shrink with A = 100 on 20 bins:
/// 4.615 bits in [3.776, 4.381]) and left [0, log2 A] (NSB on one mask: [−3e-8, −3e-8]). Every
/// interval now contains the estimate and lies in [0, log2 A].
#[test]
fn bootstrap_intervals_contain_the_estimate_and_lie_in_range() {
    let cases: Vec<(Vec<u64>, f64)> = vec![
        ((1..=20).collect(), 100.0),
        (vec![7], 20.0),
        (vec![1, 1], 4.0),
        (vec![5, 3, 1, 1, 1], 1e6),
    ];
    for (counts, alphabet) in cases {
        let rows = estimate_all(&counts, alphabet, &BootstrapConfig::default()).unwrap();
        for r in rows {
            let (lo, hi, est) = (r.ci_low_bits, r.ci_high_bits, r.estimate_bits);
            assert!(lo >= 0.0 && hi <= alphabet.log2() + 1e-12, "{r:?}");
            let inside = est.clamp(0.0, alphabet.log2());
            assert!(
                lo <= inside && inside <= hi,
                "{counts:?} A={alphabet}: {r:?}"
            );
        }
    }
}

/// Issue 28: `peff.entropy` stops on Ctrl-C through `estimate_all_until`, which checks its flag
/// before each resample: set, it returns `None`; never set, the rows of `estimate_all`.
#[test]
fn estimate_all_until_stops_on_its_flag_and_otherwise_equals_estimate_all() {
    use std::sync::atomic::AtomicBool;
    let counts = [10, 5, 3, 1, 1];
    let cfg = BootstrapConfig::default();
    let stopped = AtomicBool::new(true);
    assert!(matches!(
        estimate_all_until(&counts, 20.0, &cfg, &stopped),
        Ok(None)
    ));
    let running = AtomicBool::new(false);
    let rows = estimate_all_until(&counts, 20.0, &cfg, &running).unwrap();
    // Debug prints every field (f64 by its shortest round-trip text): equal means equal bits.
    assert_eq!(
        format!("{:?}", rows.unwrap()),
        format!("{:?}", estimate_all(&counts, 20.0, &cfg).unwrap())
    );
    // invalid input is refused before the flag is read
    assert!(estimate_all_until(&[0, 0], 20.0, &cfg, &stopped).is_err());
}
