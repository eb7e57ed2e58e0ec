//! Pruning methods (SPEC §3): each maps (init `θ0`, dataset `D`, `k`) to a mask of exactly `k`
//! kept parameters, for every lane of a [`Networks`] batch.
//!
//! One file per method, all behind [`Pruner`]; [`Method`] maps the command-line name to an
//! implementation. "Keep top-k by score" is global over the network's prunable parameters
//! ([`Networks::prunable`]: all `p` for the toy of SPEC §2, the weights of every layer for a
//! general MLP, SPEC §7), on snapped scores with ties to the lower index
//! ([`crate::mask::keep_top_k`]); `k` counts kept prunable parameters, and the others are
//! always kept. The same implementation serves the toy batch and the general MLP.

mod grasp;
mod imp;
mod magnitude;
mod random;
mod snip;
mod synflow;

pub use grasp::Grasp;
pub use imp::{Imp, ImpLevel};
pub use magnitude::Magnitude;
pub use random::RandomPrune;
pub use snip::Snip;
pub use synflow::Synflow;

use crate::mask::{cut_ranked, rank, Cut};
use crate::model::Networks;

/// The masks a method produced at one kept count `k`, one per lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Pruned {
    /// Kept parameters.
    pub k: usize,
    /// Per lane: the cut, or `None` when that lane's training diverged.
    pub lanes: Vec<Option<Cut>>,
}

/// A pruning method.
pub trait Pruner: Send + Sync {
    /// The command-line name.
    fn name(&self) -> &'static str;

    /// Whether the mask depends on the dataset (`false`: `I(m; D) = 0` by construction).
    fn uses_data(&self) -> bool;

    /// Whether the mask is a function of (init, dataset); `false` for random pruning, whose
    /// `H(m | init) = log2 C(p, k)` while `I(m; D | init) = 0`.
    fn is_deterministic(&self) -> bool {
        true
    }

    /// The kept counts this method reports when `requested` are asked for on `p` prunable
    /// parameters (IMP reports those its schedule visits; one-shot methods report `requested`).
    fn kept_counts(&self, _p: usize, requested: &[usize]) -> Vec<usize> {
        requested.to_vec()
    }

    /// Masks for every `k` in `ks` (as returned by [`Pruner::kept_counts`]), for every lane.
    fn prune(&self, nets: &dyn Networks, ks: &[usize]) -> Vec<Pruned>;
}

/// The pruning methods peff implements.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Uniformly random k-subset, independent of the data.
    Random,
    /// SynFlow (Tanaka et al. 2020), data-free, iterative.
    Synflow,
    /// Magnitude pruning after dense training (Han et al. 2015).
    Magnitude,
    /// Iterative magnitude pruning with rewinding (Frankle & Carbin 2018).
    Imp,
    /// SNIP (Lee et al. 2018).
    Snip,
    /// GraSP (Wang et al. 2020).
    Grasp,
}

/// Settings shared by the methods.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PruneSettings {
    /// Seed of the random method's streams.
    pub random_seed: u64,
    /// SynFlow rounds `E`.
    pub synflow_rounds: usize,
    /// IMP's per-level pruning rate `r`.
    pub imp_rate: f64,
    /// GraSP's output temperature `T_g`.
    pub grasp_temperature: f64,
}

impl Method {
    /// All methods in table order.
    pub const ALL: [Method; 6] = [
        Method::Random,
        Method::Synflow,
        Method::Magnitude,
        Method::Imp,
        Method::Snip,
        Method::Grasp,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Random => "random",
            Method::Synflow => "synflow",
            Method::Magnitude => "magnitude",
            Method::Imp => "imp",
            Method::Snip => "snip",
            Method::Grasp => "grasp",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The implementation with the given settings.
    pub fn pruner(self, settings: &PruneSettings) -> Box<dyn Pruner> {
        match self {
            Method::Random => Box::new(RandomPrune {
                seed: settings.random_seed,
            }),
            Method::Synflow => Box::new(Synflow {
                rounds: settings.synflow_rounds,
            }),
            Method::Magnitude => Box::new(Magnitude),
            Method::Imp => Box::new(Imp {
                rate: settings.imp_rate,
            }),
            Method::Snip => Box::new(Snip),
            Method::Grasp => Box::new(Grasp {
                temperature: settings.grasp_temperature,
            }),
        }
    }
}

/// The prunable parameters of a [`Networks`] batch and the always-kept rest.
pub(crate) struct Prunable {
    /// Prunable indices, ascending.
    pub(crate) indices: Vec<usize>,
    fixed: Vec<usize>,
}

impl Prunable {
    /// From [`Networks::prunable`].
    pub(crate) fn of(nets: &dyn Networks) -> Self {
        let indices = nets.prunable().into_owned();
        let mut is_prunable = vec![false; nets.num_params()];
        for &i in &indices {
            is_prunable[i] = true;
        }
        let fixed = (0..nets.num_params())
            .filter(|&i| !is_prunable[i])
            .collect();
        Prunable { indices, fixed }
    }

    /// The always-kept (not prunable) indices, ascending.
    pub(crate) fn fixed(&self) -> &[usize] {
        &self.fixed
    }

    /// Adds the always-kept parameters to a cut among the prunable ones.
    pub(crate) fn complete(&self, mut cut: Cut) -> Cut {
        for &i in &self.fixed {
            cut.mask.keep(i);
        }
        cut
    }
}

/// Keeps the top `k` prunable parameters of each lane's scores (structure-of-arrays), for every
/// `k` in `ks`, plus the always-kept ones; a lane that diverged or whose scores are not all
/// finite gets `None`.
pub(crate) fn prune_by_scores(
    scores: &[f64],
    nets: &dyn Networks,
    diverged: &[bool],
    ks: &[usize],
) -> Vec<Pruned> {
    let lanes = nets.lanes();
    let p = scores.len() / lanes;
    let prunable = Prunable::of(nets);
    // Rank each lane once; every k is a cut of the same ranking.
    let ranked: Vec<Option<Vec<(usize, f64)>>> = (0..lanes)
        .map(|l| {
            let s: Vec<f64> = (0..p).map(|i| scores[i * lanes + l]).collect();
            (!diverged[l] && s.iter().all(|v| v.is_finite()))
                .then(|| rank(&s, prunable.indices.iter().copied()))
        })
        .collect();
    ks.iter()
        .map(|&k| Pruned {
            k,
            lanes: ranked
                .iter()
                .map(|r| r.as_ref().map(|r| prunable.complete(cut_ranked(p, r, k))))
                .collect::<Vec<Option<Cut>>>(),
        })
        .collect()
}
