//! Masks and the deterministic top-k rule every pruning method shares (SPEC §1).
//!
//! A mask `m ∈ {0,1}^p` marks kept parameters; bit `i` is parameter `i` of the network's fixed
//! index order. Rankings compare scores **snapped** to 40 significant bits and then break ties
//! by lower index:
//!
//! ```text
//! snap(s) = bits(s) with the low 12 mantissa bits cleared, −0.0 ↦ +0.0
//! keep_top_k(s, k) = the k indices first in the order (snap(s_i) descending, i ascending)
//! ```
//!
//! Snapping makes masks independent of floating-point rounding order: trained weights of
//! symmetric units often agree up to the last bits, and two correct implementations would
//! otherwise disagree about which one to keep.

use std::cmp::Ordering;

/// A set of kept parameters out of `len`, stored as a bitset (one `u64` word per 64 parameters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mask {
    words: Vec<u64>,
    len: usize,
}

impl Mask {
    /// The mask of `len` parameters with none kept.
    pub fn empty(len: usize) -> Self {
        Mask {
            words: vec![0; len.div_ceil(64).max(1)],
            len,
        }
    }

    /// The mask of `len` parameters with all kept.
    pub fn full(len: usize) -> Self {
        let mut mask = Mask::empty(len);
        for i in 0..len {
            mask.keep(i);
        }
        mask
    }

    /// The mask keeping exactly the given indices.
    pub fn from_indices(len: usize, kept: impl IntoIterator<Item = usize>) -> Self {
        let mut mask = Mask::empty(len);
        for i in kept {
            mask.keep(i);
        }
        mask
    }

    /// Marks parameter `i` as kept.
    pub fn keep(&mut self, i: usize) {
        debug_assert!(i < self.len);
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Whether parameter `i` is kept.
    pub fn is_kept(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// Number of parameters the mask covers (`p`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask covers no parameters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of kept parameters (`k = |m|`).
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The kept indices in ascending order.
    pub fn kept(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&i| self.is_kept(i))
    }

    /// The mask as a string of `0`/`1`, parameter 0 first (the label used in counts files).
    pub fn to_bit_string(&self) -> String {
        (0..self.len)
            .map(|i| if self.is_kept(i) { '1' } else { '0' })
            .collect()
    }

    /// Parses the output of [`Mask::to_bit_string`].
    pub fn from_bit_string(s: &str) -> Option<Self> {
        let mut mask = Mask::empty(s.len());
        for (i, c) in s.chars().enumerate() {
            match c {
                '1' => mask.keep(i),
                '0' => {}
                _ => return None,
            }
        }
        Some(mask)
    }
}

impl From<&Mask> for Mask {
    fn from(mask: &Mask) -> Self {
        mask.clone()
    }
}

/// Snaps a score to 40 significant bits (clears the low 12 mantissa bits) and maps −0.0 to +0.0.
pub fn snap(score: f64) -> f64 {
    let snapped = f64::from_bits(score.to_bits() & !0xFFF);
    if snapped == 0.0 {
        0.0
    } else {
        snapped
    }
}

/// Ranking order: higher snapped score first, then lower index first. NaN scores rank last.
fn rank_order(a: (usize, f64), b: (usize, f64)) -> Ordering {
    b.1.partial_cmp(&a.1)
        .unwrap_or_else(|| a.1.is_nan().cmp(&b.1.is_nan()))
        .then(a.0.cmp(&b.0))
}

/// Ranks candidate indices by snapped score (highest first, ties to the lower index).
///
/// Returns `(index, snapped score)` pairs in rank order; `candidates` restricts the ranking to
/// a subset (e.g. the currently kept parameters of iterative methods).
pub fn rank(scores: &[f64], candidates: impl IntoIterator<Item = usize>) -> Vec<(usize, f64)> {
    let mut ranked: Vec<(usize, f64)> = candidates
        .into_iter()
        .map(|i| (i, snap(scores[i])))
        .collect();
    ranked.sort_by(|&a, &b| rank_order(a, b));
    ranked
}

/// The outcome of a top-k cut: the mask and whether the cut fell inside a tie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// The kept parameters.
    pub mask: Mask,
    /// Whether the k-th and (k+1)-th ranked candidates had equal snapped scores, so that the
    /// index tie-break decided membership.
    pub tie: bool,
}

/// Keeps the top `k` of `candidates` by snapped score, ties by lower index (SPEC §1).
///
/// The same cut as [`rank`] then [`cut_ranked`], by selection instead of a full sort: the rank
/// order is total (the index breaks every tie), so the top `k` are one set, and the `k`-th
/// ranked is the last of them.
pub fn keep_top_k(scores: &[f64], candidates: impl IntoIterator<Item = usize>, k: usize) -> Cut {
    let mut ranked: Vec<(usize, f64)> = candidates
        .into_iter()
        .map(|i| (i, snap(scores[i])))
        .collect();
    let k = k.min(ranked.len());
    if k == 0 || k == ranked.len() {
        return cut_ranked(scores.len(), &ranked, k);
    }
    ranked.select_nth_unstable_by(k, |&a, &b| rank_order(a, b));
    let last = ranked[..k]
        .iter()
        .copied()
        .max_by(|&a, &b| rank_order(a, b))
        .expect("k > 0");
    Cut {
        mask: Mask::from_indices(scores.len(), ranked[..k].iter().map(|&(i, _)| i)),
        tie: last.1.to_bits() == ranked[k].1.to_bits(),
    }
}

/// Cuts an already ranked candidate list at `k`.
pub fn cut_ranked(len: usize, ranked: &[(usize, f64)], k: usize) -> Cut {
    let k = k.min(ranked.len());
    let tie = k > 0 && k < ranked.len() && ranked[k - 1].1.to_bits() == ranked[k].1.to_bits();
    Cut {
        mask: Mask::from_indices(len, ranked[..k].iter().map(|&(i, _)| i)),
        tie,
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;

    #[test]
    fn snap_clears_low_bits_and_negative_zero() {
        assert_eq!(snap(-0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(snap(1.0), 1.0);
        // 1 + 2^-52 differs from 1 only in the lowest mantissa bit: snapped equal.
        assert_eq!(snap(1.0 + f64::EPSILON), 1.0);
        // 1 + 2^-40 survives (bit 12 of the mantissa).
        assert!(snap(1.0 + 2f64.powi(-40)) > 1.0);
    }

    #[test]
    fn ties_break_to_lower_index_and_are_reported() {
        let scores = [1.0, 3.0, 2.0, 2.0 + 1e-15, 0.5];
        let cut = keep_top_k(&scores, 0..5, 2);
        assert_eq!(cut.mask.kept().collect::<Vec<_>>(), vec![1, 2]);
        assert!(cut.tie);
        let cut = keep_top_k(&scores, 0..5, 3);
        assert_eq!(cut.mask.kept().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(!cut.tie);
    }

    /// Selection gives the cut of the full ranking, ties and NaN included.
    #[test]
    fn keep_top_k_equals_the_sorted_cut() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for trial in 0..200 {
            let p = rng.random_range(1..80);
            // Few distinct values, so that ties are common; an occasional NaN and −0.0.
            let scores: Vec<f64> = (0..p)
                .map(|_| match rng.random_range(0..12) {
                    0 => f64::NAN,
                    1 => -0.0,
                    v => (v % 5) as f64 * 0.5,
                })
                .collect();
            let candidates: Vec<usize> = (0..p).filter(|_| rng.random_bool(0.8)).collect();
            for k in 0..=candidates.len() + 1 {
                let sorted = cut_ranked(p, &rank(&scores, candidates.iter().copied()), k);
                let selected = keep_top_k(&scores, candidates.iter().copied(), k);
                assert_eq!(selected, sorted, "trial {trial}, k = {k}");
            }
        }
    }

    #[test]
    fn mask_bit_string_round_trips() {
        let m = Mask::from_indices(70, [0, 5, 64, 69]);
        assert_eq!(m.count(), 4);
        let s = m.to_bit_string();
        assert_eq!(Mask::from_bit_string(&s), Some(m));
    }
}
