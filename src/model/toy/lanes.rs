//! The toy trainer in SIMD lockstep: `L` networks (one per dataset) advance together, each
//! parameter stored as a lane vector `[f64; L]` (structure-of-arrays), ReLU as a lane-wise
//! select. `L = 1` is the scalar path; every lane performs the same operations in the same
//! order, so results are bit-identical for any `L`.
//!
//! Full-batch gradient descent (SPEC §2), `θ ← θ − η (m ⊙ ∇L(θ))`, with hand-written backprop
//! for `L(θ) = (1/n) Σ_i ℓ(f(x_i)/T, y_i)`:
//!
//! ```text
//! z = W1 x + b1,  a = relu(z),  f = W2 a + b2,  δ = ∂ℓ/∂f · (1/n)
//! ∇W2 += δ aᵀ,  ∇b2 += δ,  dz = (W2ᵀ δ) ⊙ 1[z > 0],  ∇W1 += dz xᵀ,  ∇b1 += dz
//! ```
//!
//! and the exact Hessian-vector product by Pearlmutter's R-operator (forward `R{z}, R{a}, R{f}`,
//! then `R{δ} = ∇²ℓ · R{f}` and the backward pass differentiated once more; ReLU's second
//! derivative vanishes almost everywhere, so the only second-order terms of `f` are the cross
//! terms between a hidden unit's input weights/bias and its output weights).
//! Products use fused multiply-add (`f64::mul_add`, exactly rounded on every target).
//!
//! Layout and schedule, for speed (none changes a bit of the result; every sum keeps its order):
//! lane buffers start on 64-byte boundaries (`Lanes`), so no 512-bit access straddles two
//! cache lines; the forward passes of several points run interleaved, so their independent
//! chains of FMAs overlap; the masked update `θ ← θ − η (m ⊙ ∇L(θ))` is applied to each gradient
//! entry as soon as it is final; the preset and scaling-study shapes run copies of the loop
//! with constant dimensions.

use std::cell::OnceCell;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::noise::LaneStreams;
pub use super::Lane;
use super::{Dims, Fixed, Loss, ToyShape};
use crate::data::DataSpace;
use crate::model::Networks;

/// Points whose forward passes the trainer interleaves for inputs of up to
/// [`WIDE_GROUP_MAX_INPUT_DIM`] dimensions (the rest, and wider inputs, go in pairs, then
/// alone): all six of the default configuration, which measured fastest there (pairs and
/// triples are 6 % and 2 % slower); at `d = 4` six points ran 3.5× slower than pairs (their
/// inputs and sums no longer fit the registers).
const WIDE_GROUP: usize = 6;
/// Largest input dimension whose forward passes run [`WIDE_GROUP`] points at a time.
const WIDE_GROUP_MAX_INPUT_DIM: usize = 3;

/// Largest input dimension the trainer supports (`--input-dim` is validated against it).
pub const MAX_INPUT_DIM: usize = 16;

/// A buffer of lane vectors whose first element starts on a 64-byte boundary, so that no
/// vector load or store of the trainer straddles two cache lines (an allocator guarantees only
/// 16 bytes; a straddling 512-bit access costs two, and made the kernel's speed depend on where
/// its buffers happened to land). Dereferences to `[Lane<L>]`.
struct Lanes<const L: usize> {
    buf: Vec<f64>,
    start: usize,
    len: usize,
}

impl<const L: usize> Lanes<L> {
    /// Doubles a buffer may need to skip to reach a 64-byte boundary.
    const SLACK: usize = 64 / std::mem::size_of::<f64>() - 1;

    /// `len` lane vectors equal to `value`.
    fn filled(len: usize, value: Lane<L>) -> Self {
        let buf = vec![0.0; len * L + Self::SLACK];
        let start = buf.as_ptr().align_offset(64).min(Self::SLACK);
        let mut lanes = Lanes { buf, start, len };
        lanes.fill(value);
        lanes
    }

    /// A copy of `values`.
    fn from_slice(values: &[Lane<L>]) -> Self {
        let mut lanes = Self::filled(values.len(), [0.0; L]);
        lanes.copy_from_slice(values);
        lanes
    }
}

impl<const L: usize> std::ops::Deref for Lanes<L> {
    type Target = [Lane<L>];

    fn deref(&self) -> &[Lane<L>] {
        self.buf[self.start..self.start + self.len * L]
            .as_chunks::<L>()
            .0
    }
}

impl<const L: usize> std::ops::DerefMut for Lanes<L> {
    fn deref_mut(&mut self) -> &mut [Lane<L>] {
        self.buf[self.start..self.start + self.len * L]
            .as_chunks_mut::<L>()
            .0
    }
}

/// Lane-wise `a · b + c`, one rounding (fused multiply-add).
#[inline(always)]
fn fma<const L: usize>(a: Lane<L>, b: Lane<L>, c: Lane<L>) -> Lane<L> {
    std::array::from_fn(|l| a[l].mul_add(b[l], c[l]))
}

/// `e^x` for `x ≤ 0` (the shifted softmax logits), written so that it vectorises across lanes:
///
/// ```text
/// k = round(x / ln 2),  r = x − k·ln 2 (two-part ln 2),  |r| ≤ ln 2 / 2
/// e^x = 2^k · Σ_{j=0}^{13} r^j / j!      (truncation < 1e-17 relative)
/// ```
///
/// Within 2 ulp of libm's `exp` (tested); `x ≤ −708` (where `e^x < 3.3e-308` would be subnormal)
/// gives 0, NaN gives NaN. The same function serves every lane count, so the lockstep and scalar
/// paths stay bit-identical.
#[inline(always)]
fn exp_nonpositive(x: f64) -> f64 {
    // 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const INV_FACT: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let clamped = if x > -708.0 { x } else { -708.0 };
    let t = clamped.mul_add(std::f64::consts::LOG2_E, ROUND);
    let k = t - ROUND;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, clamped));
    let mut poly = INV_FACT[13];
    for c in INV_FACT[..13].iter().rev() {
        poly = poly.mul_add(r, *c);
    }
    let exponent = t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(1023) << 52;
    let result = poly * f64::from_bits(exponent);
    if x > -708.0 {
        result
    } else if x.is_nan() {
        x
    } else {
        0.0
    }
}

/// Lane-wise `a + b`.
#[inline(always)]
fn add<const L: usize>(a: Lane<L>, b: Lane<L>) -> Lane<L> {
    std::array::from_fn(|l| a[l] + b[l])
}

/// Lane-wise ReLU gate: `v` where `z > 0`, else 0 (`gate(z, z) = relu(z)`; `relu'(0) = 0`).
#[inline(always)]
fn gate<const L: usize>(z: Lane<L>, v: Lane<L>) -> Lane<L> {
    std::array::from_fn(|l| if z[l] > 0.0 { v[l] } else { 0.0 })
}

/// What [`ToyBatch`]'s gradient does with each completed entry `g_i`.
enum Emit<'a, const L: usize> {
    /// Store it: `grad[i] = g_i`.
    Gradient(&'a mut [Lane<L>]),
    /// Apply the masked gradient-descent update `θ_i ← fma(g_i, r_i, θ_i)` with the masked rate
    /// `r_i = −η · m_i` ([`masked_rate`]).
    Step { rate: &'a [Lane<L>] },
    /// The same update with the gradient-noise draw `ε_i` of this step added first:
    /// `θ_i ← fma(g_i + ε_i, r_i, θ_i)` (stochastic training).
    NoisyStep {
        rate: &'a [Lane<L>],
        noise: &'a [Lane<L>],
    },
}

/// The masked learning rate `r_i = −η · m_i` of every parameter (`−η` where kept, `−0` where
/// pruned), so that an update is one fused multiply-add, `fma(g_i, r_i, θ_i)`. It equals
/// `fma(−η, g_i · m_i, θ_i)` bit for bit for a mask of zeros and ones: with `m_i = 1` both
/// round `θ_i − η g_i` once; with `m_i = 0` both add a zero of sign `−sign(g_i)` to `θ_i`
/// (and NaN for an infinite `g_i`).
#[allow(clippy::float_cmp)] // Zeros and ones, held exactly.
fn masked_rate<const L: usize>(mask: &[Lane<L>], lr: f64) -> Lanes<L> {
    debug_assert!(
        mask.iter().flatten().all(|&m| m == 0.0 || m == 1.0),
        "a mask of zeros and ones"
    );
    let rate: Vec<Lane<L>> = mask.iter().map(|m| m.map(|m| -lr * m)).collect();
    Lanes::from_slice(&rate)
}

impl<const L: usize> Emit<'_, L> {
    #[inline(always)]
    fn put(&mut self, theta: &mut [Lane<L>], i: usize, g: Lane<L>) {
        match self {
            Emit::Gradient(grad) => grad[i] = g,
            Emit::Step { rate } => {
                let (w, r) = (&mut theta[i], rate[i]);
                *w = fma(g, r, *w);
            }
            Emit::NoisyStep { rate, noise } => {
                let (w, r, e) = (&mut theta[i], rate[i], noise[i]);
                *w = fma(add(g, e), r, *w);
            }
        }
    }
}

/// Full-batch gradient descent settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainParams {
    /// Number of gradient steps `T`.
    pub steps: usize,
    /// Learning rate `η`.
    pub lr: f64,
}

/// Stochastic-training settings (docs/methods.md, "Mask information under stochastic
/// training"): minibatches of `B` points drawn without replacement each epoch, and Gaussian
/// noise of variance `σ²` on every gradient coordinate,
///
/// ```text
/// θ ← θ − η (m ⊙ (∇L_b(θ) + ε)),   L_b = (1/|b|) Σ_{i∈b} ℓ_i,   ε ~ N(0, σ² I)
/// ```
///
/// `steps` counts these updates; an epoch is `⌈n/B⌉` of them (the last minibatch holds the
/// `n mod B` leftover points when `B` does not divide `n`). `B = n` with `σ² = 0` is full-batch
/// gradient descent, run by the deterministic loop itself.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stochastic {
    /// Minibatch size `B`, in `[1, n]`.
    pub batch_size: usize,
    /// Gradient-noise variance `σ² ≥ 0`.
    pub grad_noise: f64,
}

impl Stochastic {
    /// Whether training with these settings on `n` points is full-batch gradient descent (no
    /// random stream is drawn from, so every seed gives the same run).
    pub fn is_deterministic(&self, n: usize) -> bool {
        self.batch_size >= n && self.grad_noise == 0.0
    }
}

/// The random stream of one stochastic training run, the one place it is derived: from the
/// dataset's key, the training seed and the mask the run starts from (IMP's levels and the dense
/// run are separate runs, each with its own stream; two runs of the same triple are the same
/// run). ChaCha8 with the 32-byte seed `key ‖ seed ‖ mask word ‖ "peff-sgd"` (little-endian),
/// so that streams never collide and do not depend on threads, lanes or shards. Its first four
/// words seed the lane's xoshiro256++ ([`super::noise::LaneStreams`]), which draws, in order: at
/// each epoch start with `B < n` a Fisher–Yates permutation of the points, then at each step
/// with `σ² > 0` one normal per parameter in index order (Box–Muller pairs).
pub fn run_stream(dataset_key: u64, train_seed: u64, mask_word: u64) -> ChaCha8Rng {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&dataset_key.to_le_bytes());
    seed[8..16].copy_from_slice(&train_seed.to_le_bytes());
    seed[16..24].copy_from_slice(&mask_word.to_le_bytes());
    seed[24..].copy_from_slice(b"peff-sgd");
    ChaCha8Rng::from_seed(seed)
}

/// Lane `l` of a lane mask as one word: bit `i mod 64` toggled for every kept parameter `i` (the
/// toy has `p ≤ 64`, so this is the mask's bit set).
fn mask_word<const L: usize>(mask: &[Lane<L>], l: usize) -> u64 {
    mask.iter()
        .enumerate()
        .filter(|(_, m)| m[l] != 0.0)
        .fold(0, |w, (i, _)| w ^ (1u64 << (i % 64)))
}

/// `L` toy networks sharing architecture and `θ0`, each with its own dataset.
pub struct ToyBatch<const L: usize> {
    shape: ToyShape,
    n: usize,
    train: TrainParams,
    init: Vec<f64>,
    keys: Vec<u64>,
    /// Inputs, point-major: `x[i·d + t]`.
    x: Lanes<L>,
    /// Targets: `y ∈ {±1}` for MSE, the class `(y + 1)/2` for cross-entropy.
    y: Lanes<L>,
    /// Stochastic training, with each lane's training seed (`None`: full-batch descent).
    stochastic: Option<(Stochastic, Vec<u64>)>,
    dense: OnceCell<(Vec<f64>, Vec<bool>)>,
}

/// Activations `a[i·h + j]`, outputs `outputs[i·o + k]` and output deltas `δ[i·o + k]` of every
/// point. (`relu'(z) = 1[z > 0] = 1[a > 0]`, so pre-activations need no storage.)
struct Workspace<const L: usize> {
    a: Lanes<L>,
    outputs: Lanes<L>,
    delta: Lanes<L>,
}

impl<const L: usize> Workspace<L> {
    fn new(shape: &ToyShape, n: usize) -> Self {
        Workspace {
            a: Lanes::filled(n * shape.hidden, [0.0; L]),
            outputs: Lanes::filled(n * shape.outputs, [0.0; L]),
            delta: Lanes::filled(n * shape.outputs, [0.0; L]),
        }
    }
}

impl<const L: usize> ToyBatch<L> {
    /// Builds a batch from up to `L` canonical datasets (sorted point ids); missing lanes repeat
    /// the last dataset and should be ignored by the caller.
    pub fn new(
        shape: ToyShape,
        space: DataSpace,
        train: TrainParams,
        init: &[f64],
        datasets: &[(u64, Vec<u32>)],
    ) -> Self {
        assert!(!datasets.is_empty() && datasets.len() <= L);
        let (d, n) = (shape.input_dim, space.n);
        let mut x = Lanes::filled(n * d, [0.0; L]);
        let mut y = Lanes::filled(n, [0.0; L]);
        let mut keys = Vec::with_capacity(L);
        for l in 0..L {
            let (key, ids) = &datasets[l.min(datasets.len() - 1)];
            keys.push(*key);
            for (i, &id) in ids.iter().enumerate() {
                for t in 0..d {
                    x[i * d + t][l] = space.input(id, t);
                }
                let label = space.label(id);
                y[i][l] = match shape.loss {
                    Loss::Mse => label,
                    Loss::CrossEntropy => (label + 1.0) / 2.0,
                };
            }
        }
        ToyBatch {
            shape,
            n,
            train,
            init: init.to_vec(),
            keys,
            x,
            y,
            stochastic: None,
            dense: OnceCell::new(),
        }
    }

    /// The same batch trained stochastically (see [`Stochastic`]): lane `l` is the run of its
    /// dataset with training seed `seeds[l]` (missing lanes repeat the last seed), its stream
    /// [`run_stream`]`(key, seed, mask)`.
    pub fn with_stochastic(mut self, settings: Stochastic, seeds: &[u64]) -> Self {
        assert!(!seeds.is_empty() && seeds.len() <= L);
        assert!((1..=self.n).contains(&settings.batch_size));
        let seeds = (0..L).map(|l| seeds[l.min(seeds.len() - 1)]).collect();
        self.stochastic = Some((settings, seeds));
        self
    }

    fn broadcast(values: &[f64]) -> Vec<Lane<L>> {
        values.iter().map(|&v| [v; L]).collect()
    }

    /// `∂ℓ/∂f · scale` for point `i` from its outputs `f`, with `u = f · inv_t`; into its
    /// `δ`.
    #[inline(always)]
    fn output_delta(&self, ws: &mut Workspace<L>, i: usize, inv_t: f64, scale: f64) {
        let o_dim = self.shape.outputs;
        let point = i * o_dim..(i + 1) * o_dim;
        Self::loss_delta(
            self.shape.loss,
            &self.y[i],
            &ws.outputs[point.clone()],
            &mut ws.delta[point],
            inv_t,
            scale,
        );
    }

    /// `∂ℓ/∂f · scale` of one point with target `y` and outputs `f`, with `u = f · inv_t`.
    #[inline(always)]
    fn loss_delta(
        loss: Loss,
        y: &Lane<L>,
        f: &[Lane<L>],
        delta: &mut [Lane<L>],
        inv_t: f64,
        scale: f64,
    ) {
        match loss {
            Loss::Mse => {
                for (f, delta) in f.iter().zip(delta.iter_mut()) {
                    *delta = std::array::from_fn(|l| f[l].mul_add(inv_t, -y[l]) * scale);
                }
            }
            Loss::CrossEntropy => {
                // Softmax lane-wise (vectorised, with `exp_nonpositive`), shifted by the max.
                let mut max = [f64::NEG_INFINITY; L];
                for f in f {
                    max = std::array::from_fn(|l| {
                        let u = f[l] * inv_t;
                        if u > max[l] {
                            u
                        } else {
                            max[l]
                        }
                    });
                }
                let mut sum = [0.0; L];
                for (f, delta) in f.iter().zip(delta.iter_mut()) {
                    *delta = std::array::from_fn(|l| exp_nonpositive(f[l] * inv_t - max[l]));
                    sum = add(sum, *delta);
                }
                for (o, delta) in delta.iter_mut().enumerate() {
                    // The class is held as a float (0.0, 1.0, …): compared as one, so that the
                    // lanes vectorise (a float-to-integer conversion per lane does not).
                    let class = o as f64;
                    *delta = std::array::from_fn(|l| {
                        #[allow(clippy::float_cmp)] // Small integers, held exactly.
                        let target = if y[l] == class { 1.0 } else { 0.0 };
                        (delta[l] / sum[l] - target) * scale
                    });
                }
            }
        }
    }

    /// Forward passes of `P` consecutive points (inputs `x`, `P·d` lane vectors) with their sums
    /// interleaved: fills their activations `a` (`P·h`) and outputs `f` (`P·o`). Each point's
    /// sums are the same whatever `P`: bias first, then the inputs in ascending order.
    #[inline(always)]
    fn forward_points<S: Dims, const P: usize>(
        s: S,
        theta: &[Lane<L>],
        x: &[Lane<L>],
        a: &mut [Lane<L>],
        f: &mut [Lane<L>],
    ) {
        let (d, h, o_dim) = (s.d(), s.h(), s.o());
        let (x, a, f) = (&x[..P * d], &mut a[..P * h], &mut f[..P * o_dim]);
        for j in 0..h {
            let mut z = [theta[s.b1(j)]; P];
            for t in 0..d {
                let w = theta[s.w1(j, t)];
                for (q, z) in z.iter_mut().enumerate() {
                    *z = fma(w, x[q * d + t], *z);
                }
            }
            for (q, z) in z.iter().enumerate() {
                a[q * h + j] = gate(*z, *z);
            }
        }
        for o in 0..o_dim {
            let mut acc = [theta[s.b2(o)]; P];
            for j in 0..h {
                let w = theta[s.w2(o, j)];
                for (q, acc) in acc.iter_mut().enumerate() {
                    *acc = fma(w, a[q * h + j], *acc);
                }
            }
            for (q, acc) in acc.iter().enumerate() {
                f[q * o_dim + o] = *acc;
            }
        }
    }

    /// Forward passes ([`Self::forward_points`]) and output deltas of the `P` points from
    /// `first` (inputs and targets of all points in `x`, `y`), into their entries of `a`,
    /// `outputs` and `delta` (those of all points).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn forward_and_delta<S: Dims, const P: usize>(
        &self,
        s: S,
        theta: &[Lane<L>],
        first: usize,
        (x, y): (&[Lane<L>], &[Lane<L>]),
        a: &mut [Lane<L>],
        outputs: &mut [Lane<L>],
        delta: &mut [Lane<L>],
        inv_t: f64,
        scale: f64,
    ) {
        let (d, h, o_dim) = (s.d(), s.h(), s.o());
        let end = first + P;
        let f = &mut outputs[first * o_dim..end * o_dim];
        Self::forward_points::<S, P>(
            s,
            theta,
            &x[first * d..end * d],
            &mut a[first * h..end * h],
            f,
        );
        let delta = &mut delta[first * o_dim..end * o_dim];
        for q in 0..P {
            Self::loss_delta(
                self.shape.loss,
                &y[first + q],
                &f[q * o_dim..(q + 1) * o_dim],
                &mut delta[q * o_dim..(q + 1) * o_dim],
                inv_t,
                scale,
            );
        }
    }

    /// Forward pass of point `i` of this batch's data into `ws` (its activations and outputs);
    /// returns its outputs.
    #[inline(always)]
    fn forward_point<'w, S: Dims>(
        &self,
        s: S,
        theta: &[Lane<L>],
        i: usize,
        ws: &'w mut Workspace<L>,
    ) -> &'w [Lane<L>] {
        let (d, h, o) = (s.d(), s.h(), s.o());
        let f = &mut ws.outputs[i * o..(i + 1) * o];
        Self::forward_points::<S, 1>(
            s,
            theta,
            &self.x[i * d..(i + 1) * d],
            &mut ws.a[i * h..(i + 1) * h],
            f,
        );
        f
    }

    /// Gradient of the loss (outputs multiplied by `inv_t`) at `theta`, each entry handed to
    /// `out` as soon as it is complete: stored ([`Emit::Gradient`]), or applied as the masked
    /// gradient-descent update `θ_i ← fma(g_i, −η · m_i, θ_i)` ([`Emit::Step`]), which saves the
    /// gradient's stores and reloads.
    ///
    /// The forward passes of all points run first, then the backward pass one parameter group
    /// at a time with its accumulator in registers, the hidden layer's entries (which read
    /// `W2`) before the output layer's, so every entry is final before its parameter changes.
    /// Every entry is summed over points in ascending order starting from 0.
    #[inline(always)]
    fn gradient<S: Dims>(
        &self,
        s: S,
        theta: &mut [Lane<L>],
        out: Emit<'_, L>,
        ws: &mut Workspace<L>,
        inv_t: f64,
    ) {
        let n = s.n().unwrap_or(self.n);
        self.gradient_on(s, theta, out, ws, inv_t, (&self.x, &self.y), n);
    }

    /// [`Self::gradient`] of the mean loss over the first `n` points of `(x, y)` (inputs
    /// point-major, as `self.x`): the whole dataset, or one minibatch of stochastic training.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn gradient_on<S: Dims>(
        &self,
        s: S,
        theta: &mut [Lane<L>],
        mut out: Emit<'_, L>,
        ws: &mut Workspace<L>,
        inv_t: f64,
        data: (&[Lane<L>], &[Lane<L>]),
        n: usize,
    ) {
        let (h, o_dim, d) = (s.h(), s.o(), s.d());
        let scale = inv_t / n as f64;
        // Views of constant length for the compile-time shapes, so that the unrolled loops
        // index them without bounds checks.
        let p = s.b2(o_dim - 1) + 1;
        let theta = &mut theta[..p];
        let (x, y) = (&data.0[..n * d], &data.1[..n]);
        let (a, outputs, delta) = (
            &mut ws.a[..n * h],
            &mut ws.outputs[..n * o_dim],
            &mut ws.delta[..n * o_dim],
        );
        // The forward passes, several points at a time with their sums interleaved: the
        // points' chains of dependent FMAs are independent, and interleaved in program order
        // the core overlaps them (point by point, the output sum's chain of `h` FMAs left the
        // FMA units idle). Each sum keeps its order, so the bits do not change.
        let mut first = 0;
        if d <= WIDE_GROUP_MAX_INPUT_DIM {
            while first + WIDE_GROUP <= n {
                self.forward_and_delta::<S, WIDE_GROUP>(
                    s,
                    theta,
                    first,
                    (x, y),
                    a,
                    outputs,
                    delta,
                    inv_t,
                    scale,
                );
                first += WIDE_GROUP;
            }
        }
        while first + 2 <= n {
            self.forward_and_delta::<S, 2>(
                s,
                theta,
                first,
                (x, y),
                a,
                outputs,
                delta,
                inv_t,
                scale,
            );
            first += 2;
        }
        if first < n {
            self.forward_and_delta::<S, 1>(
                s,
                theta,
                first,
                (x, y),
                a,
                outputs,
                delta,
                inv_t,
                scale,
            );
        }
        for j in 0..h {
            let mut gb = [0.0; L];
            let mut gw = [[0.0; L]; MAX_INPUT_DIM];
            for i in 0..n {
                let mut da = [0.0; L];
                for o in 0..o_dim {
                    da = fma(theta[s.w2(o, j)], delta[i * o_dim + o], da);
                }
                let dz = gate(a[i * h + j], da);
                gb = add(gb, dz);
                for (t, g) in gw.iter_mut().enumerate().take(d) {
                    *g = fma(dz, x[i * d + t], *g);
                }
            }
            out.put(theta, s.b1(j), gb);
            for (t, g) in gw.iter().enumerate().take(d) {
                out.put(theta, s.w1(j, t), *g);
            }
        }
        for o in 0..o_dim {
            let mut gb = [0.0; L];
            for i in 0..n {
                gb = add(gb, delta[i * o_dim + o]);
            }
            out.put(theta, s.b2(o), gb);
            for j in 0..h {
                let mut gw = [0.0; L];
                for i in 0..n {
                    gw = fma(delta[i * o_dim + o], a[i * h + j], gw);
                }
                out.put(theta, s.w2(o, j), gw);
            }
        }
    }

    /// Training loss per lane at `theta` (temperature 1).
    fn loss(&self, theta: &[Lane<L>], ws: &mut Workspace<L>) -> Lane<L> {
        let mut total = [0.0; L];
        for i in 0..self.n {
            let f = self.forward_point(self.shape, theta, i, ws);
            let y = &self.y[i];
            for l in 0..L {
                total[l] += match self.shape.loss {
                    Loss::Mse => f.iter().map(|f| 0.5 * (f[l] - y[l]).powi(2)).sum::<f64>(),
                    Loss::CrossEntropy => {
                        let max = f.iter().fold(f64::NEG_INFINITY, |m, f| m.max(f[l]));
                        let lse = max + f.iter().map(|f| (f[l] - max).exp()).sum::<f64>().ln();
                        lse - f[y[l] as usize][l]
                    }
                };
            }
        }
        total.map(|t| t / self.n as f64)
    }

    /// Hessian-vector product at `theta` by the R-operator (see the module docs).
    fn hvp(&self, theta: &[Lane<L>], v: &[Lane<L>], out: &mut [Lane<L>], inv_t: f64) {
        let s = &self.shape;
        let (h, o_dim) = (s.hidden, s.outputs);
        let mut ws = Workspace::new(s, self.n);
        let scale = inv_t / self.n as f64;
        let (mut rz, mut ra) = (vec![[0.0; L]; h], vec![[0.0; L]; h]);
        let (mut rf, mut rdelta) = (vec![[0.0; L]; o_dim], vec![[0.0; L]; o_dim]);
        out.fill([0.0; L]);
        for i in 0..self.n {
            self.forward_point(self.shape, theta, i, &mut ws);
            self.output_delta(&mut ws, i, inv_t, scale);
            let x = &self.x[i * s.input_dim..(i + 1) * s.input_dim];
            for j in 0..h {
                for l in 0..L {
                    let mut acc = v[s.b1(j)][l];
                    for (t, xt) in x.iter().enumerate() {
                        acc += v[s.w1(j, t)][l] * xt[l];
                    }
                    rz[j][l] = acc;
                    ra[j][l] = if ws.a[i * h + j][l] > 0.0 { acc } else { 0.0 };
                }
            }
            for o in 0..o_dim {
                for l in 0..L {
                    let mut acc = v[s.b2(o)][l];
                    for j in 0..h {
                        acc +=
                            v[s.w2(o, j)][l] * ws.a[i * h + j][l] + theta[s.w2(o, j)][l] * ra[j][l];
                    }
                    rf[o][l] = acc;
                }
            }
            // R{δ} = ∇²ℓ(u) R{f} · inv_t² / n.
            let curvature = inv_t * scale;
            for l in 0..L {
                match s.loss {
                    Loss::Mse => {
                        for o in 0..o_dim {
                            rdelta[o][l] = rf[o][l] * curvature;
                        }
                    }
                    Loss::CrossEntropy => {
                        let f = &ws.outputs[i * o_dim..(i + 1) * o_dim];
                        let max = f.iter().fold(f64::NEG_INFINITY, |m, f| m.max(f[l] * inv_t));
                        let e: Vec<f64> = f.iter().map(|f| (f[l] * inv_t - max).exp()).collect();
                        let sum: f64 = e.iter().sum();
                        let sm: Vec<f64> = e.iter().map(|e| e / sum).collect();
                        let mean: f64 = (0..o_dim).map(|o| sm[o] * rf[o][l]).sum();
                        for o in 0..o_dim {
                            rdelta[o][l] = sm[o] * (rf[o][l] - mean) * curvature;
                        }
                    }
                }
            }
            for o in 0..o_dim {
                for l in 0..L {
                    out[s.b2(o)][l] += rdelta[o][l];
                    for j in 0..h {
                        out[s.w2(o, j)][l] += rdelta[o][l] * ws.a[i * h + j][l]
                            + ws.delta[i * o_dim + o][l] * ra[j][l];
                    }
                }
            }
            for j in 0..h {
                for l in 0..L {
                    let mut rda = 0.0;
                    for o in 0..o_dim {
                        rda += v[s.w2(o, j)][l] * ws.delta[i * o_dim + o][l]
                            + theta[s.w2(o, j)][l] * rdelta[o][l];
                    }
                    let rdz = if ws.a[i * h + j][l] > 0.0 { rda } else { 0.0 };
                    out[s.b1(j)][l] += rdz;
                    for (t, xt) in x.iter().enumerate() {
                        out[s.w1(j, t)][l] += rdz * xt[l];
                    }
                }
            }
        }
    }

    /// Trains from `θ0 ⊙ m` for `steps` steps; returns the final parameters and divergence flags.
    /// The shapes of the presets and of the scaling studies (regression's `h = 4, o = 1` for
    /// `d = 1 … 6`, classification's `d = 3, h = 3, o = 2`; `n = 6` or any `n`) run a copy of the
    /// loop specialised to constant dimensions (fully unrolled, accumulators in registers, about
    /// 3× faster per flop than the general loop); it performs the same operations in the same
    /// order as the general one, so the results are the same bits (tested).
    fn train_lanes(&self, mask: &[Lane<L>]) -> (Vec<Lane<L>>, [bool; L]) {
        self.train_lanes_from(&Self::broadcast(&self.init), mask)
    }

    /// [`Self::train_lanes`] from per-lane parameters `start` instead of `θ0`: trains from
    /// `start ⊙ m`.
    #[inline(never)]
    fn train_lanes_from(&self, start: &[Lane<L>], mask: &[Lane<L>]) -> (Vec<Lane<L>>, [bool; L]) {
        let s = self.shape;
        let stochastic = self
            .stochastic
            .as_ref()
            .filter(|(st, _)| !st.is_deterministic(self.n));
        let theta = if let Some((st, seeds)) = stochastic {
            // Minibatches of 1, 2 or 3 points that divide n also run with the batch size
            // constant (every minibatch then has exactly B points).
            let whole = self.n.is_multiple_of(st.batch_size);
            match (s.input_dim, s.hidden, s.outputs, st.batch_size) {
                (3, 4, 1, 1) if whole => {
                    self.descend_stochastic(Fixed::<3, 4, 1, 1>, start, mask, st, seeds)
                }
                (3, 4, 1, 2) if whole => {
                    self.descend_stochastic(Fixed::<3, 4, 1, 2>, start, mask, st, seeds)
                }
                (3, 4, 1, 3) if whole => {
                    self.descend_stochastic(Fixed::<3, 4, 1, 3>, start, mask, st, seeds)
                }
                (3, 4, 1, 6) if whole => {
                    self.descend_stochastic(Fixed::<3, 4, 1, 6>, start, mask, st, seeds)
                }
                (3, 3, 2, 1) if whole => {
                    self.descend_stochastic(Fixed::<3, 3, 2, 1>, start, mask, st, seeds)
                }
                (3, 3, 2, 2) if whole => {
                    self.descend_stochastic(Fixed::<3, 3, 2, 2>, start, mask, st, seeds)
                }
                (3, 3, 2, 3) if whole => {
                    self.descend_stochastic(Fixed::<3, 3, 2, 3>, start, mask, st, seeds)
                }
                (3, 3, 2, 6) if whole => {
                    self.descend_stochastic(Fixed::<3, 3, 2, 6>, start, mask, st, seeds)
                }
                (1, 4, 1, _) => {
                    self.descend_stochastic(Fixed::<1, 4, 1, 0>, start, mask, st, seeds)
                }
                (2, 4, 1, _) => {
                    self.descend_stochastic(Fixed::<2, 4, 1, 0>, start, mask, st, seeds)
                }
                (3, 4, 1, _) => {
                    self.descend_stochastic(Fixed::<3, 4, 1, 0>, start, mask, st, seeds)
                }
                (4, 4, 1, _) => {
                    self.descend_stochastic(Fixed::<4, 4, 1, 0>, start, mask, st, seeds)
                }
                (3, 3, 2, _) => {
                    self.descend_stochastic(Fixed::<3, 3, 2, 0>, start, mask, st, seeds)
                }
                _ => self.descend_stochastic(s, start, mask, st, seeds),
            }
        } else {
            match (s.input_dim, s.hidden, s.outputs, self.n) {
                (3, 4, 1, 6) => self.descend(Fixed::<3, 4, 1, 6>, start, mask),
                (4, 4, 1, 6) => self.descend(Fixed::<4, 4, 1, 6>, start, mask),
                (5, 4, 1, 6) => self.descend(Fixed::<5, 4, 1, 6>, start, mask),
                (1, 4, 1, _) => self.descend(Fixed::<1, 4, 1, 0>, start, mask),
                (2, 4, 1, _) => self.descend(Fixed::<2, 4, 1, 0>, start, mask),
                (3, 4, 1, _) => self.descend(Fixed::<3, 4, 1, 0>, start, mask),
                (4, 4, 1, _) => self.descend(Fixed::<4, 4, 1, 0>, start, mask),
                (5, 4, 1, _) => self.descend(Fixed::<5, 4, 1, 0>, start, mask),
                (6, 4, 1, _) => self.descend(Fixed::<6, 4, 1, 0>, start, mask),
                (3, 3, 2, 6) => self.descend(Fixed::<3, 3, 2, 6>, start, mask),
                (3, 3, 2, _) => self.descend(Fixed::<3, 3, 2, 0>, start, mask),
                _ => self.descend(s, start, mask),
            }
        };
        let loss = self.loss(&theta, &mut Workspace::new(&self.shape, self.n));
        let mut diverged = [false; L];
        for l in 0..L {
            diverged[l] = !loss[l].is_finite() || theta.iter().any(|w| !w[l].is_finite());
        }
        (theta, diverged)
    }

    /// The gradient-descent loop: `θ ← θ − η (m ⊙ ∇L(θ))` for `steps` steps from `start ⊙ m`
    /// (`start` is `θ0` in every lane, except for [`Self::train_from`]).
    fn descend<S: Dims>(&self, s: S, start: &[Lane<L>], mask: &[Lane<L>]) -> Vec<Lane<L>> {
        let gated: Vec<Lane<L>> = start.iter().zip(mask).map(|(w, m)| gate(*m, *w)).collect();
        let mut theta = Lanes::from_slice(&gated);
        let rate = masked_rate(mask, self.train.lr);
        let mut ws = Workspace::new(&self.shape, self.n);
        for _ in 0..self.train.steps {
            let step = Emit::Step { rate: &rate };
            self.gradient(s, &mut theta, step, &mut ws, 1.0);
        }
        theta.to_vec()
    }

    /// The stochastic loop ([`Stochastic`]): each lane draws its permutations and noise from
    /// its own [`run_stream`]; a minibatch is a run of consecutive points of the lane's data in
    /// the epoch's permuted order, and its gradient is the loop's own ([`Self::gradient_on`]),
    /// so `B = n` without noise would repeat [`Self::descend`]'s operations.
    fn descend_stochastic<S: Dims>(
        &self,
        s: S,
        start: &[Lane<L>],
        mask: &[Lane<L>],
        st: &Stochastic,
        seeds: &[u64],
    ) -> Vec<Lane<L>> {
        let gated: Vec<Lane<L>> = start.iter().zip(mask).map(|(w, m)| gate(*m, *w)).collect();
        let mut theta = Lanes::from_slice(&gated);
        let rate = masked_rate(mask, self.train.lr);
        let (d, n, p) = (s.d(), self.n, self.init.len());
        let batch = st.batch_size.clamp(1, n);
        let shuffle = batch < n;
        let sd = st.grad_noise.sqrt();
        let mut seeded: Vec<ChaCha8Rng> = (0..L)
            .map(|l| run_stream(self.keys[l], seeds[l], mask_word(mask, l)))
            .collect();
        let mut streams = LaneStreams::<L>::new(&mut seeded);
        let (mut xs, mut ys) = (Lanes::from_slice(&self.x), Lanes::from_slice(&self.y));
        let mut order: Vec<[usize; L]> = vec![[0; L]; n];
        let mut noise = Lanes::filled(p, [0.0; L]);
        let mut ws = Workspace::new(&self.shape, n);
        let per_epoch = n.div_ceil(batch);
        for step in 0..self.train.steps {
            let slot = step % per_epoch;
            if shuffle && slot == 0 {
                // Fisher–Yates of the canonical order, every lane at once.
                for (i, o) in order.iter_mut().enumerate() {
                    *o = [i; L];
                }
                for i in (1..n).rev() {
                    let j = streams.below(i as u64 + 1);
                    for (l, &j) in j.iter().enumerate() {
                        let j = j as usize;
                        let (a, b) = (order[i][l], order[j][l]);
                        order[i][l] = b;
                        order[j][l] = a;
                    }
                }
                // The gather, one lane vector at a time (its lanes written in order) with `d`
                // known at compile time: 0.85× and 0.88× the time of a `B = 1` and a `B = 3`
                // step against lane by lane with a loop over `d` inside (LLVM still stores
                // each lane on its own; the gain is in the instructions around the stores).
                // Each lane's source row is sliced once, so its `d` reads are not checked
                // again: 0.88–0.90× at `B = 3`, the same at `B = 1`.
                for (i, src) in order.iter().enumerate() {
                    let rows: [&[Lane<L>]; L] = std::array::from_fn(|l| &self.x[src[l] * d..][..d]);
                    for t in 0..d {
                        xs[i * d + t] = std::array::from_fn(|l| rows[l][t][l]);
                    }
                    ys[i] = std::array::from_fn(|l| self.y[src[l]][l]);
                }
            }
            if sd > 0.0 {
                streams.normals(sd, &mut noise);
            }
            let first = slot * batch;
            let count = batch.min(n - first);
            let out = if sd > 0.0 {
                Emit::NoisyStep {
                    rate: &rate,
                    noise: &noise,
                }
            } else {
                Emit::Step { rate: &rate }
            };
            let data = (&xs[first * d..], &ys[first..]);
            let count = s.n().unwrap_or(count);
            self.gradient_on(s, &mut theta, out, &mut ws, 1.0, data, count);
        }
        theta.to_vec()
    }

    /// Training loss of each lane at `params` (structure-of-arrays), e.g. for checks and tests.
    pub fn loss_at(&self, params: &[f64]) -> Vec<f64> {
        let theta: Vec<Lane<L>> = params.as_chunks::<L>().0.to_vec();
        self.loss(&theta, &mut Workspace::new(&self.shape, self.n))
            .to_vec()
    }

    /// Trains every lane from its own parameters: `start` and `mask` (entries 0 or 1) hold `p`
    /// lane vectors (structure-of-arrays, `start[i·L + l]` is parameter `i` of lane `l`), and
    /// lane `l` runs the loop of [`Networks::train`] from `start_l ⊙ m_l` instead of `θ0 ⊙ m_l`
    /// (the same operations, so the same bits when `start_l = θ0`). Writes the final parameters
    /// and the divergence flags (non-finite loss or parameters).
    pub fn train_from(
        &self,
        start: &[f64],
        mask: &[f64],
        params: &mut [f64],
        diverged: &mut [bool],
    ) {
        let (theta, div) = self.train_lanes_from(start.as_chunks::<L>().0, mask.as_chunks::<L>().0);
        params.copy_from_slice(theta.as_flattened());
        diverged.copy_from_slice(&div);
    }

    /// Gradient at arbitrary per-lane parameters (structure-of-arrays), outputs divided by
    /// `temperature`.
    pub fn gradient_at(&self, params: &[f64], temperature: f64, out: &mut [f64]) {
        let mut theta: Vec<Lane<L>> = params.as_chunks::<L>().0.to_vec();
        self.gradient(
            self.shape,
            &mut theta,
            Emit::Gradient(out.as_chunks_mut::<L>().0),
            &mut Workspace::new(&self.shape, self.n),
            1.0 / temperature,
        );
    }

    /// Hessian-vector product at arbitrary per-lane parameters (structure-of-arrays).
    pub fn hvp_at(&self, params: &[f64], temperature: f64, v: &[f64], out: &mut [f64]) {
        let theta: Vec<Lane<L>> = params.as_chunks::<L>().0.to_vec();
        let v = v.as_chunks::<L>().0;
        self.hvp(&theta, v, out.as_chunks_mut::<L>().0, 1.0 / temperature);
    }

    /// Loss of each lane with outputs divided by `temperature` (for finite-difference checks).
    pub fn tempered_loss_at(&self, params: &[f64], temperature: f64) -> Vec<f64> {
        // Dividing the outputs by T is dividing the last layer's weights and biases by T.
        let mut scaled = params.to_vec();
        let s = &self.shape;
        let last_layer =
            (0..s.outputs).flat_map(|o| (0..s.hidden).map(move |j| s.w2(o, j)).chain([s.b2(o)]));
        for i in last_layer {
            for v in &mut scaled[i * L..(i + 1) * L] {
                *v /= temperature;
            }
        }
        self.loss_at(&scaled)
    }
}

impl<const L: usize> Networks for ToyBatch<L> {
    fn num_params(&self) -> usize {
        self.shape.num_params()
    }

    fn lanes(&self) -> usize {
        L
    }

    fn lane_keys(&self) -> &[u64] {
        &self.keys
    }

    fn init(&self) -> &[f64] {
        &self.init
    }

    fn gradient_at_init(&self, temperature: f64, out: &mut [f64]) {
        let mut theta = Self::broadcast(&self.init);
        self.gradient(
            self.shape,
            &mut theta,
            Emit::Gradient(out.as_chunks_mut::<L>().0),
            &mut Workspace::new(&self.shape, self.n),
            1.0 / temperature,
        );
    }

    fn hvp_at_init(&self, temperature: f64, v: &[f64], out: &mut [f64]) {
        let theta = Self::broadcast(&self.init);
        self.hvp(
            &theta,
            v.as_chunks::<L>().0,
            out.as_chunks_mut::<L>().0,
            1.0 / temperature,
        );
    }

    fn train(&self, mask: &[f64], params: &mut [f64], diverged: &mut [bool]) {
        let (theta, div) = self.train_lanes(mask.as_chunks::<L>().0);
        params.copy_from_slice(theta.as_flattened());
        diverged.copy_from_slice(&div);
    }

    fn dense_trained(&self) -> (&[f64], &[bool]) {
        let (params, diverged) = self.dense.get_or_init(|| {
            let ones = vec![[1.0; L]; self.init.len()];
            let (theta, div) = self.train_lanes(&ones);
            (theta.as_flattened().to_vec(), div.to_vec())
        });
        (params, diverged)
    }

    fn synflow_gradient(&self, params: &[f64], out: &mut [f64]) {
        self.shape.synflow_gradient(params, out);
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;
    use crate::model::toy::ToyShape;

    /// Every specialised copy of the training loop gives the general loop's bits: it would fail
    /// if a specialisation reordered a sum or dropped a term. Covers each arm of `train_lanes`
    /// (both losses, `n = 6` and other `n`), with a mask that prunes some weights.
    #[test]
    fn specialised_loops_equal_the_general_loop_bit_for_bit() {
        let arms = [
            (3, 4, 1, 6, Loss::Mse),
            (4, 4, 1, 6, Loss::Mse),
            (5, 4, 1, 6, Loss::Mse),
            (1, 4, 1, 3, Loss::Mse),
            (2, 4, 1, 5, Loss::Mse),
            (3, 4, 1, 7, Loss::Mse),
            (4, 4, 1, 2, Loss::Mse),
            (5, 4, 1, 4, Loss::Mse),
            (6, 4, 1, 3, Loss::Mse),
            (3, 3, 2, 6, Loss::CrossEntropy),
            (3, 3, 2, 4, Loss::CrossEntropy),
        ];
        for (d, h, o, n, loss) in arms {
            let shape = ToyShape {
                input_dim: d,
                hidden: h,
                outputs: o,
                loss,
            };
            let space = DataSpace { input_dim: d, n };
            let init = shape.init_params(7);
            let datasets: Vec<(u64, Vec<u32>)> =
                (0..4).map(|key| (key, space.sample(3, key))).collect();
            let train = TrainParams {
                steps: 300,
                lr: 0.1,
            };
            let batch = ToyBatch::<4>::new(shape, space, train, &init, &datasets);
            let p = shape.num_params();
            let mask: Vec<Lane<4>> = (0..p)
                .map(|i| std::array::from_fn(|l| f64::from(u8::from((i + l) % 5 != 0))))
                .collect();
            let (specialised, _) = batch.train_lanes(&mask);
            let start = ToyBatch::<4>::broadcast(&init);
            let general = batch.descend(shape, &start, &mask);
            let bits = |t: &[Lane<4>]| {
                t.as_flattened()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                bits(&specialised),
                bits(&general),
                "d={d} h={h} o={o} n={n} {loss:?}"
            );
        }
    }

    /// Stochastic training: a run depends only on its (dataset, seed, mask), not on its lane or
    /// its neighbours (so not on threads or shards); seeds differ; `B = n` without noise is the
    /// full-batch run bit for bit; the constant-B loops equal the general loop.
    #[test]
    fn stochastic_runs_are_per_lane_and_full_batch_is_unchanged() {
        let shape = ToyShape {
            input_dim: 3,
            hidden: 4,
            outputs: 1,
            loss: Loss::Mse,
        };
        let space = DataSpace { input_dim: 3, n: 6 };
        let init = shape.init_params(1);
        let train = TrainParams {
            steps: 120,
            lr: 0.1,
        };
        let data: Vec<(u64, Vec<u32>)> = (0..4).map(|key| (key, space.sample(5, key))).collect();
        let ones = vec![[1.0; 4]; shape.num_params()];
        let bits = |t: &[Lane<4>], l: usize| t.iter().map(|w| w[l].to_bits()).collect::<Vec<_>>();
        for (b, noise) in [(1, 0.0), (2, 0.0), (3, 0.01), (4, 0.0), (6, 0.01)] {
            let st = Stochastic {
                batch_size: b,
                grad_noise: noise,
            };
            let batch = ToyBatch::<4>::new(shape, space, train, &init, &data)
                .with_stochastic(st, &[0, 1, 2, 3]);
            let (theta, _) = batch.train_lanes(&ones);
            // Lane 2 (dataset 2, seed 2) again, in lane 0 among other neighbours.
            let moved = [
                data[2].clone(),
                data[0].clone(),
                data[3].clone(),
                data[1].clone(),
            ];
            let again = ToyBatch::<4>::new(shape, space, train, &init, &moved)
                .with_stochastic(st, &[2, 9, 9, 9]);
            let (theta2, _) = again.train_lanes(&ones);
            assert_eq!(bits(&theta, 2), bits(&theta2, 0), "B={b} σ²={noise}");
            // Another seed, another run.
            let other = ToyBatch::<4>::new(shape, space, train, &init, &moved)
                .with_stochastic(st, &[3, 9, 9, 9]);
            assert_ne!(bits(&theta, 2), bits(&other.train_lanes(&ones).0, 0));
            // The constant-B loop against the general one.
            let start = ToyBatch::<4>::broadcast(&init);
            let general = batch.descend_stochastic(shape, &start, &ones, &st, &[0, 1, 2, 3]);
            assert_eq!(bits(&theta, 1), bits(&general, 1), "B={b} σ²={noise}");
        }
        let full = ToyBatch::<4>::new(shape, space, train, &init, &data);
        let st = Stochastic {
            batch_size: 6,
            grad_noise: 0.0,
        };
        let same = ToyBatch::<4>::new(shape, space, train, &init, &data)
            .with_stochastic(st, &[7, 8, 9, 10]);
        let (a, b) = (full.train_lanes(&ones).0, same.train_lanes(&ones).0);
        for l in 0..4 {
            assert_eq!(bits(&a, l), bits(&b, l));
        }
    }

    /// The update through the masked rate, `fma(g, −η·m, θ)`, is `fma(−η, g·m, θ)` bit for bit
    /// for `m ∈ {0, 1}`: signed zeros, subnormals, huge and infinite values included (NaN where
    /// either is NaN). It would fail if the rate were applied with another rounding or sign.
    #[test]
    fn masked_rate_update_is_the_masked_gradient_step() {
        let values = [
            0.0,
            -0.0,
            1.5,
            -2.25,
            1e-300,
            -1e300,
            3e-320,
            -3e-320,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for lr in [0.1, 1.0, 1e-3, 0.7] {
            for m in [0.0, 1.0] {
                let rate = masked_rate(&[[m; 1]], lr)[0][0];
                for &g in &values {
                    for &w in &values {
                        let (old, new) = ((-lr).mul_add(g * m, w), g.mul_add(rate, w));
                        assert!(
                            old.to_bits() == new.to_bits() || (old.is_nan() && new.is_nan()),
                            "η={lr} m={m} g={g:e} θ={w:e}: {old:e} against {new:e}"
                        );
                    }
                }
            }
        }
    }

    /// Lane `l` of a batch of `L` lanes on `data[l]` with training seed `seeds[l]` and mask row
    /// `masks[l]`, stochastically trained: the final parameters' bits, per lane.
    fn stochastic_bits<const L: usize>(
        shape: ToyShape,
        space: DataSpace,
        data: &[(u64, Vec<u32>)],
        seeds: &[u64],
        masks: &[Vec<f64>],
        st: Stochastic,
    ) -> Vec<Vec<u64>> {
        let (init, p) = (shape.init_params(4), shape.num_params());
        let train = TrainParams { steps: 90, lr: 0.1 };
        let batch = ToyBatch::<L>::new(shape, space, train, &init, data).with_stochastic(st, seeds);
        let mask: Vec<Lane<L>> = (0..p)
            .map(|i| std::array::from_fn(|l| masks[l.min(masks.len() - 1)][i]))
            .collect();
        let (theta, _) = batch.train_lanes(&mask);
        (0..data.len())
            .map(|l| theta.iter().map(|w| w[l].to_bits()).collect())
            .collect()
    }

    /// Stochastic runs give the same bits whatever the lane count of their batch: 16 lanes
    /// (`NOISY_LANES`, and `LANES` with AVX-512), 8 (`LANES` without), 1; minibatches and
    /// gradient noise, with masks that prune a different fifth of the weights in every lane.
    #[test]
    fn stochastic_runs_do_not_depend_on_the_lane_count() {
        let shape = ToyShape::preset("regression").expect("a preset");
        let space = DataSpace { input_dim: 3, n: 6 };
        let p = shape.num_params();
        let data: Vec<(u64, Vec<u32>)> = (0..16).map(|key| (key, space.sample(2, key))).collect();
        let seeds: Vec<u64> = (0..16).map(|l| l * 3 + 1).collect();
        let masks: Vec<Vec<f64>> = (0..16)
            .map(|l| {
                (0..p)
                    .map(|i| f64::from(u8::from((i + l) % 5 != 0)))
                    .collect()
            })
            .collect();
        for (b, noise) in [(1, 0.0), (3, 0.0), (4, 0.0), (6, 0.01), (2, 0.001)] {
            let st = Stochastic {
                batch_size: b,
                grad_noise: noise,
            };
            let sixteen = stochastic_bits::<16>(shape, space, &data, &seeds, &masks, st);
            for half in [0, 8] {
                let eight = stochastic_bits::<8>(
                    shape,
                    space,
                    &data[half..half + 8],
                    &seeds[half..half + 8],
                    &masks[half..half + 8],
                    st,
                );
                assert_eq!(eight[..], sixteen[half..half + 8], "B={b} σ²={noise}");
            }
            for l in [0, 7, 15] {
                let one = stochastic_bits::<1>(
                    shape,
                    space,
                    &data[l..=l],
                    &seeds[l..=l],
                    &masks[l..=l],
                    st,
                );
                assert_eq!(one[0], sixteen[l], "B={b} σ²={noise} lane {l}");
            }
        }
    }

    /// The vectorisable exp agrees with libm within 2 ulp over the whole range it serves, is
    /// exactly 1 at 0, 0 below −708 and NaN for NaN; it would fail on a wrong constant, a
    /// truncated polynomial or a wrong exponent construction.
    #[test]
    fn exp_nonpositive_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let x = -708.0 * (i as f64 / 200_000.0).powi(3) - 1e-9 * (i % 7) as f64;
            let (ours, libm) = (exp_nonpositive(x), x.exp());
            worst = worst.max(((ours - libm) / libm).abs());
        }
        assert!(
            worst <= 2.0 * f64::EPSILON,
            "worst relative error {worst:e}"
        );
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-1000.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(f64::NAN).is_nan());
    }
}
