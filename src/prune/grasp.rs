//! GraSP: gradient signal preservation at initialisation, with the sign convention of Tanaka
//! et al.'s reference code.
//!
//! ```text
//! g = ∇L_T(θ0),   score_i = θ0_i · (H g)_i,   keep the k largest (signed) scores
//! L_T: the training loss on outputs divided by the temperature T_g,  H = ∇²L_T(θ0)
//! ```
//!
//! `H g` is the exact analytic Hessian-vector product ([`Networks::hvp_at_init`]). The default
//! temperature is 200 for cross-entropy (it softens the softmax, as in the reference code) and
//! 1 for MSE. Scores are often ±0.0 (dead units); snapping maps both to +0.0.
//!
//! ## References
//! Wang, Zhang & Grosse 2020, "Picking winning tickets before training by preserving gradient
//! flow"; Tanaka, Kunin, Yamins & Ganguli 2020 (Synaptic-Flow code, sign convention).

use super::{prune_by_scores, Pruned, Pruner};
use crate::model::{Loss, Networks};

/// GraSP with output temperature `temperature`.
pub struct Grasp {
    /// Output temperature `T_g`.
    pub temperature: f64,
}

impl Grasp {
    /// The default temperature for `loss` (SPEC §3): 200 for cross-entropy, as in Tanaka et
    /// al.'s code, where it softens the softmax; 1 for MSE, where a temperature has no role.
    pub fn default_temperature(loss: Loss) -> f64 {
        match loss {
            Loss::CrossEntropy => 200.0,
            Loss::Mse => 1.0,
        }
    }
}

impl Pruner for Grasp {
    fn name(&self) -> &'static str {
        "grasp"
    }

    fn uses_data(&self) -> bool {
        true
    }

    fn prune(&self, nets: &dyn Networks, ks: &[usize]) -> Vec<Pruned> {
        let lanes = nets.lanes();
        let mut grad = vec![0.0; nets.num_params() * lanes];
        nets.gradient_at_init(self.temperature, &mut grad);
        let mut hg = vec![0.0; grad.len()];
        nets.hvp_at_init(self.temperature, &grad, &mut hg);
        let scores: Vec<f64> = hg
            .iter()
            .enumerate()
            .map(|(idx, v)| nets.init()[idx / lanes] * v)
            .collect();
        prune_by_scores(&scores, nets, &vec![false; lanes], ks)
    }
}
