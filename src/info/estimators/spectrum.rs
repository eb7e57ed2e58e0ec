//! Counts reduced to their spectrum (counts of counts), the only thing every estimator needs.
//!
//! ```text
//! N = Σ n_i,   m = #{i : n_i > 0},   f_r = #{i : n_i = r},   spectrum = {(r, f_r) : f_r > 0}
//! ```
//!
//! Zero counts are dropped, so every estimate depends only on the multiset of non-zero counts:
//! permuting the counts or inserting zeros gives bit-identical results.

use super::EstimateError;

/// Counts reduced to their spectrum (counts of counts): the only thing every estimator needs.
#[derive(Clone, Debug)]
pub(super) struct Spectrum {
    /// `N`, the total count.
    pub(super) total: u64,
    /// `m`, the number of non-zero bins.
    pub(super) observed: usize,
    /// `(r, f_r)` for every `r ≥ 1` with `f_r > 0`, ascending in `r`.
    pub(super) groups: Vec<(u64, u64)>,
}

impl Spectrum {
    pub(super) fn from_counts(counts: &[u64]) -> Result<Self, EstimateError> {
        let mut nonzero: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
        if nonzero.is_empty() {
            return Err(EstimateError::EmptyInput);
        }
        let total = nonzero
            .iter()
            .try_fold(0u64, |acc, &c| acc.checked_add(c))
            .ok_or(EstimateError::CountOverflow)?;
        nonzero.sort_unstable();
        let mut groups: Vec<(u64, u64)> = Vec::new();
        for c in nonzero.iter().copied() {
            match groups.last_mut() {
                Some((r, f)) if *r == c => *f += 1,
                _ => groups.push((c, 1)),
            }
        }
        Ok(Spectrum {
            total,
            observed: nonzero.len(),
            groups,
        })
    }

    pub(super) fn n(&self) -> f64 {
        self.total as f64
    }

    /// `f_r`, the number of bins with count exactly `r`.
    pub(super) fn f(&self, r: u64) -> u64 {
        self.groups
            .iter()
            .take_while(|(c, _)| *c <= r)
            .find(|(c, _)| *c == r)
            .map_or(0, |&(_, f)| f)
    }
}

pub(super) fn check_alphabet(alphabet: f64, observed: usize) -> Result<(), EstimateError> {
    if !alphabet.is_finite() || alphabet < 1.0 {
        return Err(EstimateError::InvalidAlphabet { alphabet });
    }
    if alphabet < observed as f64 {
        return Err(EstimateError::AlphabetTooSmall { alphabet, observed });
    }
    Ok(())
}
