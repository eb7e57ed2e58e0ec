//! Pruning methods (SPEC §3): each maps (init `θ0`, dataset `D`, `k`) to a mask of exactly `k`
//! kept parameters, for every lane of a [`Networks`] batch.
//!
//! One file per method, all behind [`Pruner`]; [`Method`], declared from one list (the
//! `methods!` invocation below), maps the command-line name to an implementation. "Keep top-k by score" is global over the network's prunable parameters
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

/// Declares [`Method`] from one list, one entry per pruning method: its command-line name (the
/// variant's name in snake case, as the result files spell it), the name the papers write,
/// whether its scores are computed on the network at initialisation, and how its [`Pruner`] is
/// built from the shared [`PruneSettings`]. Adding a method is its file and one entry in the
/// list below (CONTRIBUTING.md, "Adding a pruning method"): `--methods`, the tables, the plots
/// and the Python package take the methods from here.
macro_rules! methods {
    (@one $variant:ident) => {
        1
    };
    ($(
        $(#[$doc:meta])*
        $variant:ident {
            name: $name:literal,
            paper_name: $paper:literal,
            scores_at_init: $at_init:literal,
            pruner: |$settings:ident| $make:expr $(,)?
        }
    )*) => {
        /// The pruning methods peff implements, in table order.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum Method {
            $( $(#[$doc])* $variant, )*
        }

        impl Method {
            /// All methods in table order.
            pub const ALL: [Method; 0 $(+ methods!(@one $variant))*] = [$(Method::$variant),*];

            /// The command-line name.
            pub fn name(self) -> &'static str {
                match self {
                    $( Method::$variant => $name, )*
                }
            }

            /// The name the papers write (`GraSP`, `SNIP`, `SynFlow`), for messages.
            pub fn paper_name(self) -> &'static str {
                match self {
                    $( Method::$variant => $paper, )*
                }
            }

            /// Whether the mask comes from scores of the network at initialisation (no
            /// training runs before it): where such a method gives no mask, its scores were
            /// not all finite, and no training diverged.
            pub fn scores_at_init(self) -> bool {
                match self {
                    $( Method::$variant => $at_init, )*
                }
            }

            /// The implementation with the given settings.
            pub fn pruner(self, settings: &PruneSettings) -> Box<dyn Pruner> {
                match self {
                    $( Method::$variant => {
                        let $settings = settings;
                        Box::new($make)
                    } )*
                }
            }
        }
    };
}

methods! {
    /// Uniformly random k-subset, independent of the data.
    Random {
        name: "random",
        paper_name: "random",
        scores_at_init: true,
        pruner: |s| RandomPrune { seed: s.random_seed },
    }
    /// SynFlow (Tanaka et al. 2020), data-free, iterative.
    Synflow {
        name: "synflow",
        paper_name: "SynFlow",
        scores_at_init: true,
        pruner: |s| Synflow { rounds: s.synflow_rounds },
    }
    /// Magnitude pruning after dense training (Han et al. 2015).
    Magnitude {
        name: "magnitude",
        paper_name: "magnitude",
        scores_at_init: false,
        pruner: |_s| Magnitude,
    }
    /// Iterative magnitude pruning with rewinding (Frankle & Carbin 2018).
    Imp {
        name: "imp",
        paper_name: "IMP",
        scores_at_init: false,
        pruner: |s| Imp { rate: s.imp_rate },
    }
    /// SNIP (Lee et al. 2018).
    Snip {
        name: "snip",
        paper_name: "SNIP",
        scores_at_init: true,
        pruner: |_s| Snip,
    }
    /// GraSP (Wang et al. 2020).
    Grasp {
        name: "grasp",
        paper_name: "GraSP",
        scores_at_init: true,
        pruner: |s| Grasp { temperature: s.grasp_temperature },
    }
}

impl Method {
    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Every command-line name, comma-separated in table order (for help and messages).
    pub fn names() -> String {
        Method::ALL.map(Method::name).join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_is_spelt_alike_on_the_command_line_and_in_result_files() {
        for m in Method::ALL {
            let serde_name = serde_json::to_value(m).unwrap();
            assert_eq!(serde_name, m.name(), "{m:?}");
            assert_eq!(Method::from_name(m.name()), Some(m));
            let settings = PruneSettings {
                random_seed: 0,
                synflow_rounds: 1,
                imp_rate: 0.2,
                grasp_temperature: 1.0,
            };
            assert_eq!(m.pruner(&settings).name(), m.name());
        }
        let mut sorted = Method::ALL;
        sorted.sort();
        assert_eq!(sorted, Method::ALL, "ALL is in table (declaration) order");
    }
}
