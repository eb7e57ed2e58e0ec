//! Toy datasets (SPEC §2): points on `{±1}^d × {±1}`, canonical multisets, their exact
//! multinomial probabilities, and per-index random streams for sampling.
//!
//! A point id `j < V = 2^(d+1)` encodes `x_t = +1` iff bit `t` of `j` is set (`t < d`) and
//! `y = +1` iff bit `d` is set. A dataset is `n` i.i.d. uniform points; full-batch gradient
//! descent depends only on its multiset, so datasets are canonicalised by sorting their ids.
//! There are `C(n + V − 1, n)` multisets, and a multiset with multiplicities `c_j` has
//!
//! ```text
//! P(multiset) = n! / Π_j c_j! · V^(−n)
//! ```
//!
//! Weights `n!/Π c_j!` are integers, so masses are accumulated exactly as integers and divided
//! by `V^n` only when an entropy is computed.
//!
//! The Figure 1 data live in submodules: [`gaussian`] (memorisation, Fig. 1a), [`idx`] (the
//! FashionMNIST IDX reader, Fig. 1b), [`cifar`] (the CIFAR-10 binary reader, Fig. 1c) and
//! [`images`] (the labelled image set both readers give).

pub mod cifar;
pub mod gaussian;
pub mod idx;
pub mod images;

pub mod teacher;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What `path` is when it cannot be read as a directory, as the end of a sentence starting with
/// the path: `"does not exist"`, `"is a file, not a directory"`, `"is a dangling link to 'Y'"`,
/// `"is a link to 'Y', a file, not a directory"`. `None` for a directory or a link to one.
pub fn not_a_directory(path: &std::path::Path) -> Option<String> {
    use std::io::ErrorKind::NotFound;
    let kind = |m: &std::fs::Metadata| {
        if m.is_file() {
            "a file, not a directory"
        } else {
            "a special file, not a directory"
        }
    };
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == NotFound => return Some("does not exist".to_string()),
        Err(e) => return Some(format!("cannot be read: {e}")),
        Ok(m) => m,
    };
    if !meta.file_type().is_symlink() {
        return (!meta.is_dir()).then(|| format!("is {}", kind(&meta)));
    }
    let target = match std::fs::read_link(path) {
        Ok(t) => format!("'{}'", t.display()),
        Err(_) => "an unreadable target".to_string(),
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => None,
        Ok(m) => Some(format!("is a link to {target}, {}", kind(&m))),
        Err(e) if e.kind() == NotFound => Some(format!("is a dangling link to {target}")),
        Err(e) => Some(format!("is a link to {target}, which cannot be read: {e}")),
    }
}

/// The space of datasets: `n` points with inputs in `{±1}^d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataSpace {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Points per dataset `n`.
    pub n: usize,
}

impl DataSpace {
    /// Number of distinct points `V = 2^(d+1)`.
    pub fn num_points(&self) -> u32 {
        1 << (self.input_dim + 1)
    }

    /// Input of point `id`: `x_t = +1` iff bit `t` is set.
    pub fn input(&self, id: u32, t: usize) -> f64 {
        if id >> t & 1 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    /// Label of point `id` in `{±1}`: `+1` iff bit `d` is set.
    pub fn label(&self, id: u32) -> f64 {
        if id >> self.input_dim & 1 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    /// Number of multisets `C(n + V − 1, n)`, or `None` when it overflows `u128`.
    pub fn num_multisets(&self) -> Option<u128> {
        binomial(
            self.n as u128 + self.num_points() as u128 - 1,
            self.n as u128,
        )
    }

    /// Total weight of all ordered datasets, `V^n`, or `None` on overflow.
    pub fn total_weight(&self) -> Option<u128> {
        (self.num_points() as u128).checked_pow(self.n as u32)
    }

    /// Entropy of the dataset `D` as training sees it (its multiset), in bits, exactly from the
    /// multinomial weights: `H(D) = −Σ_M P(M) log2 P(M)`, `P(M) = w(M)/V^n`, summed in
    /// enumeration order (deterministic). It bounds every `I(m; D | init)`: a mask cannot carry
    /// more information about the data than the data has. `None` when `V^n` overflows.
    pub fn multiset_entropy_bits(&self) -> Option<f64> {
        let total = self.total_weight()? as f64;
        let log2_total = total.log2();
        let sum: f64 = self
            .multisets()
            .map(|m| {
                let w = multinomial_weight(&m) as f64;
                w * (log2_total - w.log2())
            })
            .sum();
        Some(sum / total)
    }

    /// Every multiset in lexicographic order of its sorted ids.
    pub fn multisets(&self) -> Multisets {
        Multisets {
            next: Some(vec![0; self.n]),
            num_points: self.num_points(),
        }
    }

    /// Dataset `index` of a sampled run: `n` uniform point ids from its own ChaCha8 stream keyed by
    /// `(seed, index)`, sorted (canonical form).
    pub fn sample(&self, seed: u64, index: u64) -> Vec<u32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let mut ids: Vec<u32> = (0..self.n)
            .map(|_| rng.random_range(0..self.num_points()))
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// `n! / Π_j c_j!` for a sorted multiset: the number of ordered datasets it stands for.
pub fn multinomial_weight(sorted_ids: &[u32]) -> u128 {
    let mut weight: u128 = 1;
    let mut run = 0u128;
    for (i, id) in sorted_ids.iter().enumerate() {
        run = if i > 0 && sorted_ids[i - 1] == *id {
            run + 1
        } else {
            1
        };
        // Multiply by (i+1)/run incrementally: the partial product is always an integer
        // (a multinomial coefficient of the prefix).
        weight = weight * (i as u128 + 1) / run;
    }
    weight
}

/// Binomial coefficient `C(n, k)` with overflow detection.
pub fn binomial(n: u128, k: u128) -> Option<u128> {
    if k > n {
        return Some(0);
    }
    let k = k.min(n - k);
    let mut acc: u128 = 1;
    for i in 0..k {
        // acc * (n - i) / (i + 1) stays an integer at every step.
        acc = acc.checked_mul(n - i)? / (i + 1);
    }
    Some(acc)
}

/// `log2 C(n, k)` in floating point (the entropy ceiling of a k-of-n mask), exact for small `n`.
pub fn log2_binomial(n: usize, k: usize) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    match binomial(n as u128, k as u128) {
        Some(c) if c < (1u128 << 53) => (c as f64).log2(),
        _ => {
            use statrs::function::gamma::ln_gamma;
            (ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0))
                / std::f64::consts::LN_2
        }
    }
}

/// Iterator over sorted multisets of `n` ids out of `V`, in lexicographic order.
pub struct Multisets {
    next: Option<Vec<u32>>,
    num_points: u32,
}

impl Iterator for Multisets {
    type Item = Vec<u32>;

    fn next(&mut self) -> Option<Vec<u32>> {
        let current = self.next.take()?;
        let mut succ = current.clone();
        // Increment the last position that can grow; reset the tail to it (non-decreasing).
        let mut pos = succ.len();
        while pos > 0 && succ[pos - 1] + 1 == self.num_points {
            pos -= 1;
        }
        if pos > 0 {
            let v = succ[pos - 1] + 1;
            for s in &mut succ[pos - 1..] {
                *s = v;
            }
            self.next = Some(succ);
        }
        Some(current)
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;

    #[test]
    fn multiset_entropy_equals_brute_force_over_ordered_datasets() {
        for (input_dim, n) in [(1, 1), (1, 3), (2, 2), (1, 4)] {
            let space = DataSpace { input_dim, n };
            let v = space.num_points();
            let mut counts: std::collections::BTreeMap<Vec<u32>, u64> = Default::default();
            for index in 0..(v as u64).pow(n as u32) {
                let mut ids: Vec<u32> = (0..n)
                    .map(|t| (index / (v as u64).pow(t as u32) % v as u64) as u32)
                    .collect();
                ids.sort_unstable();
                *counts.entry(ids).or_default() += 1;
            }
            let total = (v as f64).powi(n as i32);
            let brute: f64 = counts
                .values()
                .map(|&c| -(c as f64 / total) * (c as f64 / total).log2())
                .sum();
            let exact = space.multiset_entropy_bits().unwrap();
            assert!(
                (exact - brute).abs() < 1e-12,
                "{input_dim} {n}: {exact} vs {brute}"
            );
        }
        // One point: log2 V; two points: the closed form over pairs and doubles.
        let one = DataSpace { input_dim: 3, n: 1 };
        assert!((one.multiset_entropy_bits().unwrap() - 4.0).abs() < 1e-12);
        let v = 16.0f64;
        let two = DataSpace { input_dim: 3, n: 2 };
        // Pairs {i, j}, i < j: probability 2/V²; doubles {i, i}: 1/V².
        let closed = -(v * (v - 1.0) / 2.0) * (2.0 / (v * v)) * (2.0 / (v * v)).log2()
            - v * (1.0 / (v * v)) * (1.0 / (v * v)).log2();
        assert!((two.multiset_entropy_bits().unwrap() - closed).abs() < 1e-12);
    }

    #[test]
    fn multiset_count_and_weights_sum_to_total() {
        for (d, n) in [(1, 3), (2, 3), (3, 6), (2, 1)] {
            let space = DataSpace { input_dim: d, n };
            let all: Vec<_> = space.multisets().collect();
            assert_eq!(all.len() as u128, space.num_multisets().unwrap());
            let total: u128 = all.iter().map(|m| multinomial_weight(m)).sum();
            assert_eq!(total, space.total_weight().unwrap());
            assert!(all.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(
            DataSpace { input_dim: 3, n: 6 }.num_multisets(),
            Some(54_264)
        );
    }

    #[test]
    fn point_encoding() {
        let s = DataSpace { input_dim: 3, n: 1 };
        assert_eq!(s.num_points(), 16);
        assert_eq!(
            (0..3).map(|t| s.input(0b0101, t)).collect::<Vec<_>>(),
            vec![1.0, -1.0, 1.0]
        );
        assert_eq!(s.label(0b0101), -1.0);
        assert_eq!(s.label(0b1000), 1.0);
    }

    #[test]
    fn samples_are_sorted_and_reproducible() {
        let s = DataSpace { input_dim: 3, n: 6 };
        assert_eq!(s.sample(7, 3), s.sample(7, 3));
        assert_ne!(s.sample(7, 3), s.sample(7, 4));
        assert!(s.sample(7, 3).windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn log2_binomial_matches_small_cases() {
        assert_eq!(log2_binomial(21, 10), (352_716f64).log2());
        assert_eq!(log2_binomial(4, 0), 0.0);
        let big = log2_binomial(1000, 500);
        assert!((big - 994.69).abs() < 0.1, "{big}");
    }
}
