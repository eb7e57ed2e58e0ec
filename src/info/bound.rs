//! Theorem 5.6 of the paper as a calculator: a memorising sparse network must be steep.
//!
//! ```text
//! Lip(f) ≥ ε / (96 a1 √(2c)) · √( n d δ / (p_eff + (δ/2) log2(4/δ)) ),   a1² = 72
//! p_eff = I(m; D) + k · log2(1 + 60 W J / ε)
//! ```
//!
//! All logarithms are base 2 (SPEC convention; `I` in bits). Inputs: `n` samples in dimension
//! `d`, target excess fit `ε` and failure probability `δ` in (0, 1), the isoperimetry constant
//! `c`, the parameter-set diameter `W`, the parameter Lipschitz constant `J`, the mask
//! information `I` (bits) and the kept count `k`.

use anyhow::bail;
use serde::Serialize;

/// Inputs of the bound (the flags of `peff bound`, of the same names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundInputs {
    /// Number of samples n.
    pub n: f64,
    /// Input dimension d.
    pub d: f64,
    /// Excess fit ε in (0, 1).
    pub epsilon: f64,
    /// Failure probability δ in (0, 1).
    pub delta: f64,
    /// Isoperimetry constant c > 0.
    pub c: f64,
    /// Diameter W > 0 of the parameter set.
    pub w: f64,
    /// Lipschitz constant J > 0 of parameters to functions.
    pub j: f64,
    /// Mutual information I(m; D) ≥ 0 in bits.
    pub mi: f64,
    /// Kept parameters k ≥ 0.
    pub k: f64,
}

/// The bound and its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    /// Effective parameter count `I + k log2(1 + 60 W J / ε)`.
    pub p_eff: f64,
    /// Lower bound on the Lipschitz constant.
    pub lipschitz_lower_bound: f64,
}

/// Largest `n`, `d` or `k` accepted: 2^53, below which every whole number is an exact `f64`.
const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

impl BoundInputs {
    /// Checks ranges (errors name the `peff bound` flag) and evaluates the bound.
    pub fn evaluate(&self) -> anyhow::Result<Bound> {
        let in_unit = |flag: &str, v: f64| -> anyhow::Result<()> {
            if !(v > 0.0 && v < 1.0) {
                bail!("`{flag}` must be in (0, 1), got {v}");
            }
            Ok(())
        };
        in_unit("--epsilon", self.epsilon)?;
        in_unit("--delta", self.delta)?;
        for (flag, v) in [
            ("--n", self.n),
            ("--d", self.d),
            ("--c", self.c),
            ("--w", self.w),
            ("--j", self.j),
        ] {
            if !(v.is_finite() && v > 0.0) {
                bail!("`{flag}` must be a finite number > 0, got {v}");
            }
        }
        for (flag, v) in [("--mi", self.mi), ("--k", self.k)] {
            if !(v.is_finite() && v >= 0.0) {
                bail!("`{flag}` must be a finite number ≥ 0, got {v}");
            }
        }
        // Counts are whole numbers; 2^53 is the largest range in which every one is exact.
        for (flag, v, min) in [
            ("--n", self.n, 1.0),
            ("--d", self.d, 1.0),
            ("--k", self.k, 0.0),
        ] {
            if !(v.fract() == 0.0 && v >= min && v <= MAX_COUNT) {
                bail!("`{flag}` must be a whole number in [{min}, 2^53], got {v:?}");
            }
        }
        let p_eff = self.mi + self.k * (1.0 + 60.0 * self.w * self.j / self.epsilon).log2();
        let a1 = 72f64.sqrt();
        let denom = p_eff + self.delta / 2.0 * (4.0 / self.delta).log2();
        let lipschitz_lower_bound = self.epsilon / (96.0 * a1 * (2.0 * self.c).sqrt())
            * (self.n * self.d * self.delta / denom).sqrt();
        if !(p_eff.is_finite() && lipschitz_lower_bound.is_finite()) {
            bail!(
                "the bound is not representable for these inputs (p_eff = {p_eff}, bound = {lipschitz_lower_bound}); use smaller `--n`, `--d`, `--mi`, `--k`, `--w` or `--j`"
            );
        }
        Ok(Bound {
            p_eff,
            lipschitz_lower_bound,
        })
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;

    #[test]
    fn hand_computed_value() {
        // n = 1000, d = 50, ε = 0.5, δ = 0.5, c = 1, W = 1, J = 1, I = 3, k = 1:
        // p_eff = 3 + log2(1 + 120) = 3 + 6.918863237274595 = 9.918863237274595
        // denom = 9.918863237274595 + 0.25·log2(8) = 10.668863237274595
        // √(1000·50·0.5 / 10.668863237274595) = √2343.2684… = 48.40731…
        // prefactor = 0.5 / (96 · √72 · √2) = 0.5 / (96 · 12) = 4.340277…e-4
        // bound = 48.40731 · 4.340277e-4 = 0.0210101…
        let b = BoundInputs {
            n: 1000.0,
            d: 50.0,
            epsilon: 0.5,
            delta: 0.5,
            c: 1.0,
            w: 1.0,
            j: 1.0,
            mi: 3.0,
            k: 1.0,
        }
        .evaluate()
        .unwrap();
        assert!((b.p_eff - 9.918_863_237_274_595).abs() < 1e-12);
        let expected = (1000.0 * 50.0 * 0.5 / 10.668_863_237_274_595f64).sqrt() * 0.5 / 1152.0;
        assert!((b.lipschitz_lower_bound - expected).abs() < 1e-15);
        assert!(
            (b.lipschitz_lower_bound - 0.021_010).abs() < 1e-5,
            "{}",
            b.lipschitz_lower_bound
        );
    }

    #[test]
    fn rejects_out_of_range() {
        let args = BoundInputs {
            n: 10.0,
            d: 1.0,
            epsilon: 1.5,
            delta: 0.1,
            c: 1.0,
            w: 1.0,
            j: 1.0,
            mi: 0.0,
            k: 1.0,
        };
        assert!(args
            .evaluate()
            .unwrap_err()
            .to_string()
            .contains("--epsilon"));
    }
}
