//! SynFlow: iterative synaptic flow pruning, data-free.
//!
//! ```text
//! round e = 1..E:  d_e = (k/p)^(e/E),  K_e = p − ⌊(1 − d_e)·p + 1e-9⌋
//!   θ̃ = m ⊙ |θ0|,  S = 1ᵀ f_θ̃(1)  (all-ones input),  score = θ̃ ⊙ ∂S/∂θ̃  (≥ 0)
//!   m ← top K_e among the currently kept parameters (a pruned parameter never returns)
//! ```
//!
//! `p` here is the number of prunable parameters ([`Networks::prunable`]; the others stay kept
//! and enter `θ̃` with their `|θ0|`). The last round keeps exactly `k`. The mask does not depend on the data, so `H(m | init) = 0`;
//! it is computed once and given to every lane. The reported tie is that of the last round.
//!
//! ## References
//! Tanaka, Kunin, Yamins & Ganguli 2020, "Pruning neural networks without any data by
//! iteratively conserving synaptic flow".

use super::{Prunable, Pruned, Pruner};
use crate::mask::{keep_top_k, Cut, Mask};
use crate::model::Networks;

/// SynFlow with `rounds` rounds.
pub struct Synflow {
    /// Number of rounds `E`.
    pub rounds: usize,
}

impl Synflow {
    /// SynFlow's mask with `k` kept, from `θ0` and the network's SynFlow gradient.
    pub fn mask(&self, nets: &dyn Networks, k: usize) -> Cut {
        let p = nets.num_params();
        let prunable = Prunable::of(nets);
        let candidates = prunable.indices.len();
        let abs_init: Vec<f64> = nets.init().iter().map(|w| w.abs()).collect();
        let mut cut = Cut {
            mask: Mask::full(p),
            tie: false,
        };
        let mut linear = vec![0.0; p];
        let mut grad = vec![0.0; p];
        let density = k as f64 / candidates as f64;
        for e in 1..=self.rounds {
            let d_e = density.powf(e as f64 / self.rounds as f64);
            let keep = if e == self.rounds {
                k
            } else {
                candidates - ((1.0 - d_e) * candidates as f64 + 1e-9).floor() as usize
            };
            for (i, v) in linear.iter_mut().enumerate() {
                *v = if cut.mask.is_kept(i) {
                    abs_init[i]
                } else {
                    0.0
                };
            }
            nets.synflow_gradient(&linear, &mut grad);
            let scores: Vec<f64> = linear.iter().zip(&grad).map(|(w, g)| w * g).collect();
            let kept: Vec<usize> = prunable
                .indices
                .iter()
                .copied()
                .filter(|&i| cut.mask.is_kept(i))
                .collect();
            cut = prunable.complete(keep_top_k(&scores, kept, keep));
        }
        cut
    }
}

impl Pruner for Synflow {
    fn name(&self) -> &'static str {
        "synflow"
    }

    fn uses_data(&self) -> bool {
        false
    }

    fn prune(&self, nets: &dyn Networks, ks: &[usize]) -> Vec<Pruned> {
        ks.iter()
            .map(|&k| {
                let cut = self.mask(nets, k);
                Pruned {
                    k,
                    lanes: vec![Some(cut); nets.lanes()],
                }
            })
            .collect()
    }
}
