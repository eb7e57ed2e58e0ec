//! Gaussian memorisation data (SPEC §7, the paper's Fig. 1a and Appendix B.1.1): `n` points
//! with standard-normal inputs and random ±1 labels, independent of each other, from one seed.
//!
//! ```text
//! x_i ~ N(0, I_d)   (point-major: x_{i,1}, …, x_{i,d}, then point i + 1)
//! y_i ~ Uniform{−1, +1}, independent of x     i = 1 … n
//! ```
//!
//! The labels carry no signal: a network can fit them only by memorising each point, so the
//! fraction of points a (pruned) network fits measures its memorisation capacity. All inputs are
//! drawn first, then all labels, from `ChaCha8Rng::seed_from_u64(seed)`; the same seed gives the
//! same data on every machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `n` Gaussian points in `d` dimensions with random ±1 labels.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianData {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Inputs, point-major (`n × d`).
    pub x: Vec<f64>,
    /// Labels in `{−1, +1}`.
    pub labels: Vec<i8>,
}

impl GaussianData {
    /// The data of the module docs from `seed`.
    pub fn generate(n: usize, input_dim: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = (0..n * input_dim)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let labels = (0..n)
            .map(|_| if rng.random_bool(0.5) { 1 } else { -1 })
            .collect();
        GaussianData {
            input_dim,
            x,
            labels,
        }
    }

    /// Number of points `n`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_shapes_and_moments() {
        let a = GaussianData::generate(2000, 5, 11);
        assert_eq!(a, GaussianData::generate(2000, 5, 11));
        assert_ne!(a, GaussianData::generate(2000, 5, 12));
        assert_eq!((a.x.len(), a.len()), (10_000, 2000));
        let mean = a.x.iter().sum::<f64>() / a.x.len() as f64;
        let var = a.x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / a.x.len() as f64;
        // 10,000 standard normals: mean within 5 s.e. (0.05), variance within 0.06.
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.06,
            "{mean} {var}"
        );
        let plus = a.labels.iter().filter(|&&y| y == 1).count();
        assert!(a.labels.iter().all(|&y| y == 1 || y == -1));
        // Binomial(2000, 1/2): s.d. 22.4.
        assert!((plus as i64 - 1000).abs() < 112, "{plus}");
    }
}
