//! Mask pmfs as exact integer tallies.
//!
//! Each dataset adds its weight to the mask its method produced: the multinomial weight
//! `n!/Π c_j!` when enumerating (so the mass is `weight / V^n`), 1 when sampling. Integer sums
//! do not depend on the order of addition, so tallies are identical for any thread count,
//! batching or sharding, and merge exactly. The entropy of the normalised pmf is
//!
//! ```text
//! H(m) = −Σ_m q_m log2 q_m,   q_m = w_m / W,   W = Σ_m w_m   (0 · log 0 = 0)
//! ```
//!
//! over the datasets whose training did not diverge (diverged runs are counted, not hashed).

use hashbrown::HashMap;

use crate::mask::{Cut, Mask};

/// The tally of one (method, k): weight per mask, plus diverged and tie bookkeeping.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MaskTally {
    weights: HashMap<Mask, u128>,
    /// Weight of every dataset seen, diverged included.
    pub total_weight: u128,
    /// Number of datasets whose training diverged.
    pub diverged_datasets: u64,
    /// Weight of the diverged datasets.
    pub diverged_weight: u128,
    /// Weight of the datasets whose top-k cut fell inside a tie.
    pub tie_weight: u128,
}

impl MaskTally {
    /// Adds one dataset's outcome with its weight (`None`: the run diverged).
    pub fn add(&mut self, cut: Option<&Cut>, weight: u128) {
        self.total_weight += weight;
        match cut {
            Some(cut) => {
                *self.weights.entry_ref(&cut.mask).or_insert(0) += weight;
                if cut.tie {
                    self.tie_weight += weight;
                }
            }
            None => {
                self.diverged_datasets += 1;
                self.diverged_weight += weight;
            }
        }
    }

    /// Adds a whole mask weight directly (e.g. from a partial-result file).
    pub fn add_mask_weight(&mut self, mask: Mask, weight: u128) {
        *self.weights.entry(mask).or_insert(0) += weight;
    }

    /// Adds another tally into this one.
    pub fn merge(&mut self, other: &MaskTally) {
        for (mask, w) in &other.weights {
            *self.weights.entry_ref(mask).or_insert(0) += w;
        }
        self.total_weight += other.total_weight;
        self.diverged_datasets += other.diverged_datasets;
        self.diverged_weight += other.diverged_weight;
        self.tie_weight += other.tie_weight;
    }

    /// Masks and weights in ascending mask order (deterministic).
    pub fn sorted(&self) -> Vec<(&Mask, u128)> {
        let mut v: Vec<(&Mask, u128)> = self.weights.iter().map(|(m, &w)| (m, w)).collect();
        v.sort_unstable();
        v
    }

    /// Number of distinct masks seen.
    pub fn distinct(&self) -> usize {
        self.weights.len()
    }

    /// Weight of the non-diverged datasets, `W`.
    pub fn valid_weight(&self) -> u128 {
        self.total_weight - self.diverged_weight
    }

    /// Entropy in bits of the mask pmf over non-diverged datasets (0 when there are none).
    pub fn entropy_bits(&self) -> f64 {
        entropy_of_weights(self.sorted().iter().map(|&(_, w)| w), self.valid_weight())
    }

    /// Fraction of the total weight whose cut fell inside a tie.
    pub fn tie_mass(&self) -> f64 {
        if self.total_weight == 0 {
            0.0
        } else {
            self.tie_weight as f64 / self.total_weight as f64
        }
    }

    /// The weights as counts (for estimators; sampled tallies have weight 1 per dataset).
    pub fn counts(&self) -> Vec<u64> {
        self.sorted()
            .iter()
            .map(|&(_, w)| u64::try_from(w).unwrap_or(u64::MAX))
            .collect()
    }
}

/// An unnormalised probability mass: an exact integer weight (`u128`: multinomial weights,
/// counts) or a real one (`f64`: probabilities given by a caller, as in
/// [`crate::experiments::toy::primitives`]).
pub trait Mass: Copy + Default + std::ops::Add<Output = Self> + std::ops::AddAssign {
    /// The mass as a float.
    fn to_f64(self) -> f64;
    /// The mass of `count` runs of this mass each.
    fn times(self, count: u64) -> Self;
}

impl Mass for u128 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn times(self, count: u64) -> Self {
        self * u128::from(count)
    }
}

impl Mass for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn times(self, count: u64) -> Self {
        self * count as f64
    }
}

/// `−Σ q log2 q` of the weights `w` (in the order given) over `total`, `q = w / total`: the one
/// formula of every tallied entropy (so that equal pmfs summed in the same order give the same
/// bits, whoever tallied them). Dyadic `f64` masses (`w / 2^j`, as the toy's multinomial
/// probabilities `w / V^n`) give the bits of the integer weights `w`.
pub fn entropy_of_weights<W: Mass>(weights: impl Iterator<Item = W>, total: W) -> f64 {
    let total = total.to_f64();
    weights
        .map(|w| {
            let q = w.to_f64() / total;
            if q >= 1.0 {
                0.0
            } else {
                -q * q.log2()
            }
        })
        // Not `.sum()`: the empty f64 sum is −0.0, and an empty pmf has entropy +0.
        .fold(0.0, |acc, h| acc + h)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_pmf_and_order_independence() {
        let a = Cut {
            mask: Mask::from_indices(3, [0]),
            tie: false,
        };
        let b = Cut {
            mask: Mask::from_indices(3, [1]),
            tie: true,
        };
        let mut t1 = MaskTally::default();
        t1.add(Some(&a), 1);
        t1.add(Some(&b), 3);
        t1.add(None, 4);
        let mut t2 = MaskTally::default();
        t2.add(None, 4);
        t2.add(Some(&b), 3);
        t2.add(Some(&a), 1);
        assert_eq!(t1, t2);
        // q = (1/4, 3/4): H = 0.811278124459133 bits.
        assert!((t1.entropy_bits() - 0.811_278_124_459_133).abs() < 1e-12);
        assert_eq!(t1.tie_mass(), 3.0 / 8.0);
        assert_eq!(t1.diverged_datasets, 1);
    }
}
