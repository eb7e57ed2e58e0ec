//! Iterative magnitude pruning with rewinding to init (OpenLTH's rule).
//!
//! ```text
//! level 0: train dense from θ0 for T steps
//! level j: R = |m|;  m ← top max(R − ⌈r·R⌉, k_target) of the kept, by trained |θ|
//!          record m;  rewind survivors to θ0 (pruned fixed at 0);  retrain T steps
//! ```
//!
//! `⌈r·R⌉` is evaluated as `⌈r·R − 1e-9⌉` so that `r = 0.2` gives `⌈1.0⌉ = 1` whatever the
//! rounding of the product. On `p = 21`, `r = 0.2` the schedule visits
//! `k = 16, 12, 9, 7, 5, 4, 3, 2, 1`; the target is the smallest requested `k`, and the
//! reported kept counts are those the schedule visits. The last recorded mask needs no
//! retraining. A lane whose training diverges at some level has no mask from then on.
//!
//! The trajectory can stop and resume between levels ([`Imp::prune_from`]): after each level's
//! training its state ([`ImpLevel`]: the level, every lane's kept indices and trained weights)
//! is handed to an observer, and a run given that state continues with the next level, to the
//! same masks as an uninterrupted one (`memorize --checkpoint` saves it within a seed).
//!
//! ## References
//! Frankle & Carbin 2018, "The lottery ticket hypothesis"; Frankle et al. 2019 (rewinding).

use super::{Prunable, Pruned, Pruner};
use crate::mask::{keep_top_k, Cut};
use crate::model::Networks;
use serde::{Deserialize, Serialize};

/// IMP with per-level pruning rate `rate`.
pub struct Imp {
    /// Fraction `r` of the kept parameters pruned per level.
    pub rate: f64,
}

/// IMP's state after the training of one level, from which [`Imp::prune_from`] resumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpLevel {
    /// The index (into the kept counts) of the level just trained.
    pub level: usize,
    /// Per lane, the kept prunable indices of that level's mask, ascending.
    pub kept: Vec<Vec<usize>>,
    /// Per lane, the weights trained under that mask (empty for a lane that diverged, which
    /// has no masks from then on).
    pub trained: Vec<Vec<f64>>,
}

impl Imp {
    /// The per-level rate of the paper and of every command's `--imp-rate` default: 20 %.
    pub const DEFAULT_RATE: f64 = 0.2;

    /// The kept counts visited from `p` down to `target`.
    pub fn schedule(&self, p: usize, target: usize) -> Vec<usize> {
        let mut visited = Vec::new();
        let mut kept = p;
        while kept > target {
            kept = self.next_level(kept, target);
            visited.push(kept);
        }
        visited
    }

    /// The kept count one level after `kept` (above `target`): `⌈rate · kept⌉` (at least one)
    /// fewer, never below `target`.
    pub fn next_level(&self, kept: usize, target: usize) -> usize {
        let pruned = (self.rate * kept as f64 - 1e-9).ceil().max(1.0) as usize;
        kept.saturating_sub(pruned).max(target)
    }

    /// One level's cut, the rule every IMP caller shares (this pruner and the noise-correlation
    /// experiment, [`crate::experiments::noise_corr`]): of the currently kept prunable indices
    /// `kept`, keep the `k` with the largest trained `|θ|` (snapped, ties to the lower index);
    /// `trained` holds one network's `p` parameters.
    pub fn level_cut(trained: &[f64], kept: &[usize], k: usize) -> Cut {
        let scores: Vec<f64> = trained.iter().map(|w| w.abs()).collect();
        keep_top_k(&scores, kept.iter().copied(), k)
    }
}

impl Pruner for Imp {
    fn name(&self) -> &'static str {
        "imp"
    }

    fn uses_data(&self) -> bool {
        true
    }

    fn kept_counts(&self, p: usize, requested: &[usize]) -> Vec<usize> {
        let target = requested.iter().copied().min().unwrap_or(1);
        self.schedule(p, target)
    }

    fn prune(&self, nets: &dyn Networks, ks: &[usize]) -> Vec<Pruned> {
        self.prune_from(nets, ks, None, &mut |_| {})
    }
}

impl Imp {
    /// [`Pruner::prune`] resumable between levels: starts after `resume`'s level (the masks of
    /// the levels up to it are not returned again), and hands `on_level` the state after each
    /// level's training.
    ///
    /// # Panics
    /// If `resume` does not fit `nets` and `ks` (lane count, level, weight count).
    pub fn prune_from(
        &self,
        nets: &dyn Networks,
        ks: &[usize],
        resume: Option<&ImpLevel>,
        on_level: &mut dyn FnMut(&ImpLevel),
    ) -> Vec<Pruned> {
        let (p, lanes) = (nets.num_params(), nets.lanes());
        let prunable = Prunable::of(nets);
        let (first, mut trained, mut alive, mut masks) = match resume {
            None => {
                let (dense, dense_diverged) = nets.dense_trained();
                let alive: Vec<bool> = dense_diverged.iter().map(|d| !d).collect();
                (
                    0,
                    dense.to_vec(),
                    alive,
                    vec![prunable.indices.clone(); lanes],
                )
            }
            Some(state) => {
                assert!(state.kept.len() == lanes && state.trained.len() == lanes);
                assert!(state.level + 1 < ks.len(), "resumed after the last level");
                let alive: Vec<bool> = state.trained.iter().map(|t| !t.is_empty()).collect();
                let mut trained = vec![f64::NAN; p * lanes];
                for (l, lane) in state.trained.iter().enumerate() {
                    assert!(
                        lane.is_empty() || lane.len() == p,
                        "trained weights of lane {l}"
                    );
                    for (i, &w) in lane.iter().enumerate() {
                        trained[i * lanes + l] = w;
                    }
                }
                (state.level + 1, trained, alive, state.kept.clone())
            }
        };
        let mut mask_lanes = vec![0.0; p * lanes];
        let mut diverged = vec![false; lanes];
        let mut out = Vec::with_capacity(ks.len() - first);
        for (level, &k) in ks.iter().enumerate().skip(first) {
            let lanes_out = (0..lanes)
                .map(|l| {
                    if !alive[l] {
                        return None;
                    }
                    let lane: Vec<f64> = (0..p).map(|i| trained[i * lanes + l]).collect();
                    let cut = Imp::level_cut(&lane, &masks[l], k);
                    masks[l] = cut.mask.kept().collect();
                    Some(prunable.complete(cut))
                })
                .collect::<Vec<_>>();
            out.push(Pruned {
                k,
                lanes: lanes_out,
            });
            if level + 1 == ks.len() {
                break;
            }
            mask_lanes.fill(0.0);
            for (l, kept) in masks.iter().enumerate() {
                for &i in kept.iter().chain(prunable.fixed()) {
                    mask_lanes[i * lanes + l] = 1.0;
                }
            }
            nets.train(&mask_lanes, &mut trained, &mut diverged);
            for (a, d) in alive.iter_mut().zip(&diverged) {
                *a &= !d;
            }
            on_level(&ImpLevel {
                level,
                kept: masks.clone(),
                trained: (0..lanes)
                    .map(|l| match alive[l] {
                        true => (0..p).map(|i| trained[i * lanes + l]).collect(),
                        false => Vec::new(),
                    })
                    .collect(),
            });
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;

    #[test]
    fn schedule_on_21_parameters() {
        let imp = Imp { rate: 0.2 };
        assert_eq!(imp.schedule(21, 1), vec![16, 12, 9, 7, 5, 4, 3, 2, 1]);
        assert_eq!(imp.schedule(21, 5), vec![16, 12, 9, 7, 5]);
        assert_eq!(imp.schedule(21, 10), vec![16, 12, 10]);
    }
}
