//! Magnitude pruning after training (one-shot): train dense from `θ0` for `T` steps, keep the
//! top `k` parameters by trained magnitude.
//!
//! ```text
//! score_i = |θ_T,i|
//! ```
//!
//! Shares its dense training run with IMP's level 0 ([`Networks::dense_trained`]). A diverged
//! run yields no mask.
//!
//! ## References
//! Han, Pool, Tran & Dally 2015, "Learning both weights and connections for efficient neural
//! networks".

use super::{prune_by_scores, Pruned, Pruner};
use crate::model::Networks;

/// One-shot magnitude pruning after dense training.
pub struct Magnitude;

impl Pruner for Magnitude {
    fn name(&self) -> &'static str {
        "magnitude"
    }

    fn uses_data(&self) -> bool {
        true
    }

    fn prune(&self, nets: &dyn Networks, ks: &[usize]) -> Vec<Pruned> {
        let (params, diverged) = nets.dense_trained();
        let scores: Vec<f64> = params.iter().map(|w| w.abs()).collect();
        prune_by_scores(&scores, nets, diverged, ks)
    }
}
