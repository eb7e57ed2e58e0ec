//! Networks as the pruning methods see them.
//!
//! A pruning method needs from a network only: its initial parameters `θ0`, the gradient and
//! Hessian-vector product of its training loss at `θ0`, a training routine under a mask, and,
//! for SynFlow, the gradient of the data-free objective `S = 1ᵀ f_θ(1)`. [`Networks`] offers
//! exactly that, for a batch of `lanes` networks that share architecture and `θ0` and each
//! see their own dataset (the toy trainer runs them in SIMD lockstep; a deep network is a batch
//! of one). Per-lane values are stored structure-of-arrays: parameter `i` of lane `l` at
//! `i * lanes + l`.

pub mod conv;
pub mod init_file;
pub mod lanes;
pub mod mlp;
pub mod toy;

use std::borrow::Cow;

/// A batch of networks sharing one architecture and one initialisation, one dataset per lane.
pub trait Networks {
    /// Number of parameters `p` of each network.
    fn num_params(&self) -> usize;

    /// Number of networks in the batch.
    fn lanes(&self) -> usize;

    /// A key per lane identifying its dataset (used to key per-dataset random streams).
    fn lane_keys(&self) -> &[u64];

    /// The shared initial parameters `θ0` (`p` values, index order of SPEC §1).
    fn init(&self) -> &[f64];

    /// The parameters a pruning method may remove, ascending (default: all `p`, as in the toy
    /// of SPEC §2). The others are always kept, and a kept count `k` counts only prunable
    /// parameters (a general MLP prunes weights only, SPEC §7).
    fn prunable(&self) -> Cow<'_, [usize]> {
        Cow::Owned((0..self.num_params()).collect())
    }

    /// Gradient of each lane's training loss at `θ0`, with network outputs divided by
    /// `temperature` before the loss; written structure-of-arrays into `out` (`p · lanes`).
    fn gradient_at_init(&self, temperature: f64, out: &mut [f64]);

    /// Hessian-vector product `H v` of each lane's loss (outputs divided by `temperature`) at
    /// `θ0`, for a per-lane vector `v` (structure-of-arrays), into `out`.
    fn hvp_at_init(&self, temperature: f64, v: &[f64], out: &mut [f64]);

    /// Trains every lane from `θ0 ⊙ mask` with the per-lane 0/1 `mask` (structure-of-arrays)
    /// by the network's own training routine (the toy: full-batch gradient descent); writes the
    /// trained parameters into `params` and sets `diverged[l]` when lane `l`'s loss became
    /// non-finite.
    fn train(&self, mask: &[f64], params: &mut [f64], diverged: &mut [bool]);

    /// The dense training run from `θ0`, computed once per batch and shared by every method that
    /// starts from it (magnitude pruning and IMP level 0): `(params, diverged)`.
    fn dense_trained(&self) -> (&[f64], &[bool]);

    /// Gradient of SynFlow's `S = 1ᵀ f_θ(1)` (all-ones input) with respect to `params`
    /// (one network, `p` values; data-free).
    fn synflow_gradient(&self, params: &[f64], out: &mut [f64]);
}
