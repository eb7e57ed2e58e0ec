//! How the information a mask carries grows with the data: the exact toy experiment over a grid
//! of dataset sizes `n` and input dimensions `d`, each point beside the entropy of its data and
//! the ceiling of its masks.
//!
//! ```text
//! for each (d, n) of the grid:  I(m; D | init) = H(m | init)          (exact, by enumeration)
//!                               H(D) = −Σ_M P(M) log2 P(M)            (multisets M, exact)
//!                               I(m; D | init) ≤ min(H(D), log2 C(p, k))
//! ```
//!
//! The grid's points are independent exact runs ([`crate::experiments::run::compute`]); this
//! module builds their configurations and the rows of the combined table.

use serde::{Deserialize, Serialize};

use crate::experiments::toy::report::{exact_rows, ExactRow};
use crate::experiments::toy::ToyExperiment;
use crate::info::tally::MaskTally;

/// Largest `n` a scaling grid accepts (the toy pipeline's limit).
pub const MAX_N: usize = 30;

/// One row of the scaling table: a grid point's `(d, n)`, the entropy of its data and one row
/// of its exact table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingRow {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Points per dataset `n`.
    pub n: usize,
    /// The exact row (method, k, entropy, MI, ceiling, …).
    #[serde(flatten)]
    pub row: ExactRow,
    /// `H(D)` in bits: the entropy of the dataset's multiset, an upper bound on `mi_bits`.
    pub data_entropy_bits: f64,
}

/// An inclusive range of integers written `a..b` (or a single value `a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntRange {
    /// First value.
    pub first: usize,
    /// Last value (inclusive).
    pub last: usize,
}

impl IntRange {
    /// Parses `a..b` (inclusive, `a ≤ b`) or `a`, each within `[min, max]`; `flag` names the
    /// option in errors.
    pub fn parse(flag: &str, text: &str, min: usize, max: usize) -> anyhow::Result<IntRange> {
        let bad = || {
            anyhow::anyhow!(
                "`{flag}` must be an integer or an inclusive range a..b with {min} ≤ a ≤ b ≤ {max}, got '{}'",
                text.chars().take(40).collect::<String>()
            )
        };
        let (a, b) = match text.split_once("..") {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (text.trim(), text.trim()),
        };
        let first: usize = a.parse().map_err(|_| bad())?;
        let last: usize = b.parse().map_err(|_| bad())?;
        if first > last || first < min || last > max {
            return Err(bad());
        }
        Ok(IntRange { first, last })
    }

    /// The values, ascending.
    pub fn values(self) -> impl Iterator<Item = usize> {
        self.first..=self.last
    }
}

/// The rows of one grid point from its finished tallies.
pub fn scaling_rows(exp: &ToyExperiment, tallies: &[MaskTally]) -> Vec<ScalingRow> {
    let data_entropy_bits = exp
        .space
        .multiset_entropy_bits()
        .expect("validated grids have V^n within u128");
    exact_rows(exp, tallies)
        .into_iter()
        .map(|row| ScalingRow {
            input_dim: exp.space.input_dim,
            n: exp.space.n,
            row,
            data_entropy_bits,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_refuse_with_the_flag_named() {
        assert_eq!(
            IntRange::parse("--n", "1..10", 1, 30).unwrap(),
            IntRange { first: 1, last: 10 }
        );
        assert_eq!(
            IntRange::parse("--n", "6", 1, 30)
                .unwrap()
                .values()
                .collect::<Vec<_>>(),
            vec![6]
        );
        for bad in ["10..1", "1..100", "0..3", "a..3", "", "1...3", "-1..2"] {
            let e = IntRange::parse("--n", bad, 1, 30).unwrap_err().to_string();
            assert!(e.starts_with("`--n` must be"), "{bad}: {e}");
        }
    }
}
