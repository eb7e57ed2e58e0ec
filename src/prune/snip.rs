//! SNIP: connection sensitivity at initialisation.
//!
//! ```text
//! score_i = |θ0_i · ∂L/∂θ_i (θ0)|,   L the training loss of SPEC §2
//! ```
//!
//! Exact zeros are common (a ReLU unit dead on every point zeroes its weights' gradients), so
//! ties at the cut are frequent and broken by index.
//!
//! ## References
//! Lee, Ajanthan & Torr 2018, "SNIP: Single-shot network pruning based on connection
//! sensitivity".

use super::{prune_by_scores, Pruned, Pruner};
use crate::model::Networks;

/// SNIP.
pub struct Snip;

impl Pruner for Snip {
    fn name(&self) -> &'static str {
        "snip"
    }

    fn uses_data(&self) -> bool {
        true
    }

    fn prune(&self, nets: &dyn Networks, ks: &[usize]) -> Vec<Pruned> {
        let lanes = nets.lanes();
        let mut grad = vec![0.0; nets.num_params() * lanes];
        nets.gradient_at_init(1.0, &mut grad);
        let scores: Vec<f64> = grad
            .iter()
            .enumerate()
            .map(|(idx, g)| (nets.init()[idx / lanes] * g).abs())
            .collect();
        prune_by_scores(&scores, nets, &vec![false; lanes], ks)
    }
}
