//! Random pruning: a uniformly random `k`-subset of the `p` parameters, independent of the data.
//!
//! ```text
//! m ~ Uniform{ m ∈ {0,1}^p : |m| = k },   H(m) = log2 C(p, k),   I(m; D) = 0
//! ```
//!
//! Each lane draws from its own ChaCha8 stream keyed by `(seed, lane key)`, one draw per `k` in
//! order, so masks are reproducible and independent of batching.
//!
//! ## References
//! The baseline of every pruning paper, e.g. Frankle et al. 2021, "Pruning neural networks at
//! initialization: why are we missing the mark?".

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Prunable, Pruned, Pruner};
use crate::mask::{Cut, Mask};
use crate::model::Networks;

/// Random pruning with its own seed.
pub struct RandomPrune {
    /// Seed of the per-dataset streams.
    pub seed: u64,
}

impl Pruner for RandomPrune {
    fn name(&self) -> &'static str {
        "random"
    }

    fn uses_data(&self) -> bool {
        false
    }

    fn is_deterministic(&self) -> bool {
        false
    }

    fn prune(&self, nets: &dyn Networks, ks: &[usize]) -> Vec<Pruned> {
        let p = nets.num_params();
        let prunable = Prunable::of(nets);
        let candidates = prunable.indices.len();
        let mut rngs: Vec<ChaCha8Rng> = nets
            .lane_keys()
            .iter()
            .map(|&key| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(key);
                rng
            })
            .collect();
        ks.iter()
            .map(|&k| Pruned {
                k,
                lanes: rngs
                    .iter_mut()
                    .map(|rng| {
                        let kept = rand::seq::index::sample(rng, candidates, k);
                        Some(prunable.complete(Cut {
                            mask: Mask::from_indices(p, kept.iter().map(|i| prunable.indices[i])),
                            tie: false,
                        }))
                    })
                    .collect(),
            })
            .collect()
    }
}
