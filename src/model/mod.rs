//! What every network shares, and the two views of a network the rest of peff takes.
//!
//! - [`Model`]: a trainable architecture (parameters held outside it, as a slice in the model's
//!   index order): init, forward, gradient, Hessian-vector product and SynFlow's gradient of its
//!   training loss. The [`Trainer`] (epochs of optimizer steps), the [`Optimizer`]s, the
//!   [`Loss`] head, the [`Dataset`] and the pruning adapter [`ModelNetworks`] are written once,
//!   generic over it. A new network type is one folder that implements [`Model`]
//!   (`CONTRIBUTING.md`, "Adding a network type").
//! - [`Networks`]: a network as the pruning methods see it — `θ0`, the gradient and `H v` at
//!   `θ0`, a training routine under a mask, the dense trained run, SynFlow's gradient — for a
//!   batch of `lanes` networks that share architecture and `θ0` and each see their own dataset
//!   (the toy trainer runs them in SIMD lockstep; a [`Model`] is a batch of one through
//!   [`ModelNetworks`]). Per-lane values are stored structure-of-arrays: parameter `i` of lane
//!   `l` at `i * lanes + l`.
//!
//! The networks sit side by side: [`toy`] (the paper's 21-parameter MLP of Appendix B.2 and its
//! lockstep trainer; [`Networks`] only), [`mlp`] (any depth and width; [`Model`]) and [`conv`]
//! (Synaptic-Flow's ConvNet; [`Model`]). Each states its index order (which mask bit is which
//! parameter) in its module header; the two [`Model`]s are sequences of the shared [`layers`]
//! (a dense layer and a 3 × 3 convolution, with their sparse kernels from [`sparse`]).
//!
//! ```text
//! Model::gradient:  L(θ) = (1/n) Σ_i ℓ(f_θ(x_i)/T, y_i),   ∇L(θ)
//! Model::hvp:       ∇²L(θ) v   (exact, Pearlmutter's R-operator)
//! SynFlow:          S(θ) = 1ᵀ f_θ(1),  ∇S(θ)   (all-ones input of the model's input shape)
//! ```

mod activation;
pub mod conv;
pub mod dataset;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod networks;
pub mod optim;
pub mod scalar;
pub mod sparse;
pub mod toy;
pub mod train;

pub use dataset::{Batch, Dataset, DatasetError, Targets, TargetsRef};
pub use loss::Loss;
pub use networks::ModelNetworks;
pub use optim::{Optimizer, OptimizerState};
pub use scalar::Scalar;
pub use train::{Control, EpochStats, Plateau, TrainConfig, TrainOutcome, Trainer};

/// The buffers of one network for batches of up to [`capacity`](ModelWorkspace::capacity)
/// rows, sized once so that no step allocates.
pub trait ModelWorkspace<T>: Clone + Send {
    /// Largest batch the buffers hold.
    fn capacity(&self) -> usize;

    /// Per-point losses `ℓ_i` of the last pass through the loss head (first `rows` entries).
    fn point_losses(&self) -> &[T];

    /// For the loss head after a forward pass of `rows` points: the outputs (`rows × o`), the
    /// output-delta buffer (`rows × o`) and the per-point-loss buffer (`rows`).
    fn head_buffers(&mut self, rows: usize) -> (&[T], &mut [T], &mut [T]);
}

/// A trainable network architecture: everything the [`Trainer`], the [`Optimizer`]s and the
/// pruning adapter [`ModelNetworks`] use. It holds no parameters: every method takes them as a
/// slice in the model's index order (stated in its module header; mask bit `i` is parameter
/// `i`), in `f32` or `f64` ([`Scalar`]).
///
/// `forward`, `gradient`, `hvp` and `synflow_gradient` are the network's own (hand-written
/// backprop and R-operator, checked against finite differences by `tests/model_properties.rs`
/// for every implementation); `mean_loss`, `point_losses` and `evaluate` are provided, built
/// from `forward` and the [`Loss`] head in chunks of the workspace capacity.
pub trait Model: Clone + std::fmt::Debug + Send + Sync {
    /// The network's buffers in precision `T`.
    type Workspace<T: Scalar>: ModelWorkspace<T>;

    /// Number of parameters `p`, biases included.
    fn num_params(&self) -> usize;

    /// Values per input point (`d` for an MLP, `C·H·W` for an image network).
    fn input_len(&self) -> usize;

    /// Number of outputs `o`.
    fn outputs(&self) -> usize;

    /// The training loss.
    fn loss(&self) -> Loss;

    /// Each weight layer's weights (no biases), input to output: ranges of the index order.
    fn weight_layers(&self) -> Vec<std::ops::Range<usize>>;

    /// The prunable weights (every layer's weights, no biases), ascending (SPEC §7).
    fn weight_indices(&self) -> Vec<usize> {
        self.weight_layers().into_iter().flatten().collect()
    }

    /// PyTorch's default init (`U(±1/√fan_in)` for every weight and bias) from
    /// `ChaCha8Rng::seed_from_u64(seed)` in index order, in `f64`.
    fn init_params(&self, seed: u64) -> Vec<f64>;

    /// Multiply-adds of one forward pass per point.
    fn macs_per_point(&self) -> usize;
    /// Values of every layer's output (activations and the network outputs) per point.
    fn activations_per_point(&self) -> usize;
    /// Upper estimate of the bytes a workspace of `capacity` rows holds in precision `T`, R-
    /// buffers and sparse kernels included: per row, the activations, their R-counterparts and
    /// four delta buffers of the widest layer, bounded by six times the activations (the buffers
    /// every core keeps), plus the sparse kernels' feature-major copies of the input and of one
    /// layer's input gradient ([`sparse`]), bounded by twice the input and twice the activations
    /// (those are padded to whole tiles of [`sparse::TILE`] rows: a capacity that is a multiple
    /// of it is exact).
    fn workspace_bytes<T: Scalar>(&self, capacity: usize) -> u128 {
        let per_row = 8 * self.activations_per_point() as u128 + 2 * self.input_len() as u128;
        capacity.max(1) as u128 * per_row * size_of::<T>() as u128
    }

    /// Buffers for batches of up to `capacity` rows (at least 1).
    fn workspace<T: Scalar>(&self, capacity: usize) -> Self::Workspace<T>;

    /// Fixes the mask whose pruned weights [`Model::forward`] and [`Model::gradient`] skip on
    /// this workspace from now on (`None`: dense): every layer whose kept fraction of weights is
    /// below its kind's threshold in `sparse_below` runs its [`sparse`] kernel, the others their
    /// dense GEMM. The
    /// gradient's entries at pruned weights are then not written. [`Model::hvp`] and
    /// [`Model::synflow_gradient`] stay dense. Called by [`Trainer::reset`].
    ///
    /// # Panics
    /// If `mask` has the wrong length.
    fn set_mask<T: Scalar>(
        &self,
        mask: Option<&[bool]>,
        sparse_below: sparse::SparseBelow,
        ws: &mut Self::Workspace<T>,
    );

    /// Forward pass of `rows` points (point-major `x`); returns the outputs (`rows × o`),
    /// held in the workspace.
    ///
    /// # Panics
    /// If `rows` exceeds the workspace capacity or `params` has the wrong length.
    fn forward<'w, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &'w mut Self::Workspace<T>,
    ) -> &'w [T];

    /// Mean loss `L(θ)` on `batch` (outputs divided by `temperature`) and its gradient into
    /// `grad` (index order; under [`Model::set_mask`], entries at pruned weights are left as
    /// they were); per-point losses stay in the workspace.
    fn gradient<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        ws: &mut Self::Workspace<T>,
        grad: &mut [T],
    ) -> f64;

    /// Hessian-vector product `∇²L(θ) v` of the mean loss on `batch` (outputs divided by
    /// `temperature`), exact (R-operator), into `out`.
    #[allow(clippy::too_many_arguments)] // Parameters, data, temperature, vector, buffers, out.
    fn hvp<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        v: &[T],
        ws: &mut Self::Workspace<T>,
        out: &mut [T],
    );

    /// Gradient of SynFlow's `S = Σ_o f_o(1)` (all-ones input of the input shape) at `params`
    /// into `out`; returns `S`. Data-free; `relu'(z) = 1[z > 0]`.
    fn synflow_gradient<T: Scalar>(
        &self,
        params: &[T],
        ws: &mut Self::Workspace<T>,
        out: &mut [T],
    ) -> f64;

    /// Mean loss on `batch` (outputs divided by `temperature`), in chunks of the workspace
    /// capacity; the per-point losses of the last chunk stay in the workspace.
    fn mean_loss<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        ws: &mut Self::Workspace<T>,
    ) -> f64 {
        let inv_t = T::from_f64(1.0 / temperature);
        let mut total = 0.0;
        self.chunks(params, batch, ws, |ws, targets, rows| {
            let (f, delta, point_loss) = ws.head_buffers(rows);
            total += self
                .loss()
                .head(f, targets, self.outputs(), inv_t, T::ONE, delta, point_loss);
        });
        total / batch.rows() as f64
    }

    /// Per-point losses `ℓ_i` (temperature 1) of `batch` into `out` (`rows` values), in chunks
    /// of the workspace capacity.
    fn point_losses<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        ws: &mut Self::Workspace<T>,
        out: &mut [T],
    ) {
        let mut start = 0;
        self.chunks(params, batch, ws, |ws, targets, rows| {
            let (f, delta, point_loss) = ws.head_buffers(rows);
            let o = self.outputs();
            self.loss()
                .head(f, targets, o, T::ONE, T::ONE, delta, point_loss);
            out[start..start + rows].copy_from_slice(&point_loss[..rows]);
            start += rows;
        });
    }

    /// Forward-only evaluation of `rows` inputs (point-major `x`) into `out` (`rows × o`), in
    /// chunks of the workspace capacity.
    ///
    /// # Panics
    /// If `x` or `out` is too short.
    fn evaluate<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Self::Workspace<T>,
        out: &mut [T],
    ) {
        let (d, o) = (self.input_len(), self.outputs());
        assert!(
            x.len() >= rows * d && out.len() >= rows * o,
            "evaluate: slice too short"
        );
        let mut start = 0;
        while start < rows {
            let end = (start + ws.capacity()).min(rows);
            let f = self.forward(params, &x[start * d..end * d], end - start, ws);
            out[start * o..end * o].copy_from_slice(f);
            start = end;
        }
    }

    /// Runs `forward` over `batch` in chunks of the workspace capacity, calling
    /// `then(ws, targets, rows)` after each chunk's forward pass.
    #[doc(hidden)]
    fn chunks<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        ws: &mut Self::Workspace<T>,
        mut then: impl FnMut(&mut Self::Workspace<T>, TargetsRef<'_, T>, usize),
    ) {
        let (d, o) = (self.input_len(), self.outputs());
        let x = batch.x();
        let mut start = 0;
        while start < batch.rows() {
            let end = (start + ws.capacity()).min(batch.rows());
            self.forward(params, &x[start * d..end * d], end - start, ws);
            then(ws, batch.targets().range(start, end, o), end - start);
            start = end;
        }
    }
}

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
