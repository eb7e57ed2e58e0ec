//! Optimizers of every [`Model`](super::Model): gradient descent and Adam, with masks.
//!
//! ```text
//! masked gradient  g̃ = m ⊙ g
//! GD:    θ ← θ − η g̃                         (one fused multiply-add per entry, as the toy)
//! Adam:  t ← t + 1,  m ← m + (1 − β1)(g̃ − m),  v ← β2 v + (1 − β2) g̃²
//!        θ ← θ − (η / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
//! ```
//!
//! Adam is PyTorch's `torch.optim.Adam` (single-tensor path, the CPU default) operation for
//! operation: `exp_avg.lerp_(grad, 1 − β1)`, `exp_avg_sq.mul_(β2).addcmul_(grad, grad, 1 − β2)`,
//! the bias corrections computed in `f64` and the step `θ.addcdiv_(m, √v/√bc2 + ε, −η/bc1)`.
//! A pruned entry has `g̃ = 0`, so its moments stay 0 and its update is exactly 0: it stays 0.
//!
//! ## References
//! Kingma & Ba 2015, "Adam: a method for stochastic optimization"; PyTorch `torch/optim/adam.py`.

use super::Scalar;

/// An optimizer and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Optimizer {
    /// (Full-batch or minibatch) gradient descent with learning rate `lr`: `--optimizer gd`,
    /// serialised as `"gd"` (files written before the rename say `"sgd"`, still read).
    #[serde(rename = "gd", alias = "sgd")]
    Sgd {
        /// Learning rate `η`.
        lr: f64,
    },
    /// Adam.
    Adam {
        /// Learning rate `η`.
        lr: f64,
        /// First-moment decay `β1`.
        beta1: f64,
        /// Second-moment decay `β2`.
        beta2: f64,
        /// `ε`.
        eps: f64,
    },
}

impl Optimizer {
    /// Gradient descent at `lr`.
    pub fn sgd(lr: f64) -> Self {
        Optimizer::Sgd { lr }
    }

    /// Adam at `lr` with PyTorch's defaults `β = (0.9, 0.999)`, `ε = 1e-8`.
    pub fn adam(lr: f64) -> Self {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            Optimizer::Sgd { lr } | Optimizer::Adam { lr, .. } => lr,
        }
    }
}

/// An optimizer's state for `p` parameters (Adam's moments and step count; empty for GD).
#[derive(Clone, Debug)]
pub struct OptimizerState<T> {
    optimizer: Optimizer,
    m: Vec<T>,
    v: Vec<T>,
    t: u64,
}

impl<T: Scalar> OptimizerState<T> {
    /// Fresh state for `p` parameters.
    pub fn new(optimizer: Optimizer, p: usize) -> Self {
        let len = if matches!(optimizer, Optimizer::Adam { .. }) {
            p
        } else {
            0
        };
        OptimizerState {
            optimizer,
            m: vec![T::ZERO; len],
            v: vec![T::ZERO; len],
            t: 0,
        }
    }

    /// The optimizer.
    pub fn optimizer(&self) -> Optimizer {
        self.optimizer
    }

    /// Forgets the moments and the step count (a fresh optimizer, as after rewinding).
    pub fn reset(&mut self) {
        self.m.fill(T::ZERO);
        self.v.fill(T::ZERO);
        self.t = 0;
    }

    /// Steps taken since the last reset.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One update of `params` from `grad`, with the 0/1 `mask` multiplied into the gradient
    /// (`None`: dense). `grad` is left masked.
    pub fn step(&mut self, params: &mut [T], grad: &mut [T], mask: Option<&[T]>) {
        assert_eq!(params.len(), grad.len(), "gradient length");
        if let Some(mask) = mask {
            assert_eq!(mask.len(), grad.len(), "mask length");
            for (g, &m) in grad.iter_mut().zip(mask) {
                *g *= m;
            }
        }
        let rule = self.advance();
        match rule {
            Rule::Sgd { neg_lr } => {
                for (w, &g) in params.iter_mut().zip(grad.iter()) {
                    *w = neg_lr.mul_add(g, *w);
                }
            }
            Rule::Adam(adam) => {
                for (((w, &g), m), v) in params
                    .iter_mut()
                    .zip(grad.iter())
                    .zip(&mut self.m)
                    .zip(&mut self.v)
                {
                    adam.update(w, g, m, v);
                }
            }
        }
    }

    /// The same update as [`OptimizerState::step`] under a mask, visiting only the entries
    /// `kept` (ascending) whose mask bit is 1: a pruned entry's update is exactly 0 (its masked
    /// gradient and moments are 0), so skipping it changes no bit, and the step costs what the
    /// kept weights cost. `grad` is read at `kept` only.
    pub fn step_kept(&mut self, params: &mut [T], grad: &[T], kept: &[usize]) {
        assert_eq!(params.len(), grad.len(), "gradient length");
        let rule = self.advance();
        match rule {
            Rule::Sgd { neg_lr } => {
                for &i in kept {
                    params[i] = neg_lr.mul_add(grad[i], params[i]);
                }
            }
            Rule::Adam(adam) => {
                for &i in kept {
                    adam.update(&mut params[i], grad[i], &mut self.m[i], &mut self.v[i]);
                }
            }
        }
    }

    /// Counts the step and returns its update rule.
    fn advance(&mut self) -> Rule<T> {
        self.t += 1;
        match self.optimizer {
            Optimizer::Sgd { lr } => Rule::Sgd {
                neg_lr: T::from_f64(-lr),
            },
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let t = self.t as i32;
                let bc1 = 1.0 - beta1.powi(t);
                let bc2 = 1.0 - beta2.powi(t);
                Rule::Adam(AdamStep {
                    neg_step: T::from_f64(-lr / bc1),
                    w1: T::from_f64(1.0 - beta1),
                    b2: T::from_f64(beta2),
                    w2: T::from_f64(1.0 - beta2),
                    eps: T::from_f64(eps),
                    bc2_sqrt: T::from_f64(bc2.sqrt()),
                })
            }
        }
    }
}

/// One step's update rule, its constants computed once.
#[derive(Clone, Copy)]
enum Rule<T> {
    Sgd { neg_lr: T },
    Adam(AdamStep<T>),
}

/// Adam's constants for step `t` (module docs).
#[derive(Clone, Copy)]
struct AdamStep<T> {
    neg_step: T,
    w1: T,
    b2: T,
    w2: T,
    eps: T,
    bc2_sqrt: T,
}

impl<T: Scalar> AdamStep<T> {
    /// `m ← m + (1 − β1)(g − m)`, `v ← β2 v + (1 − β2) g²`, `θ ← θ − (η/bc1) m / (√v/√bc2 + ε)`.
    #[inline(always)]
    fn update(&self, w: &mut T, g: T, m: &mut T, v: &mut T) {
        *m += self.w1 * (g - *m);
        *v = *v * self.b2 + self.w2 * g * g;
        let denom = v.sqrt() / self.bc2_sqrt + self.eps;
        *w += self.neg_step * (*m / denom);
    }
}
