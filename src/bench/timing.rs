//! What the network benchmarks share: a pass of a network timed against the same GEMMs alone.
//!
//! ```text
//! GEMM call   C ← α A B + β C,  A: m × k, B: k × n, C: m × n, each with (row, column) strides
//! flops       = Σ_calls 2 m k n
//! replay      = every call of the pass in order, on one buffer per operand (as a pass reuses its
//!               workspace), inputs U(−0.5, 0.5) from a constant seed
//! rate        = best over interleaved timed blocks of (calls per block ÷ block time)
//! ```
//!
//! Each function is first run for about 1/11 of its share of the budget to size its block (twice
//! what fits, at least 6 calls); then the blocks of all functions are timed in turn, five rounds,
//! so that a shared machine's noise hits all alike; a function's rate is its best block.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::Scalar;

/// One GEMM call of a pass: shape, strides of `A`, `B`, `C`, and whether it accumulates
/// (`β = 1`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemmCall {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub c: (usize, usize),
    pub accumulate: bool,
}

impl GemmCall {
    /// `C = A B` with `β = 0`.
    pub fn new(
        (m, k, n): (usize, usize, usize),
        a: (usize, usize),
        b: (usize, usize),
        c: (usize, usize),
    ) -> Self {
        GemmCall {
            m,
            k,
            n,
            a,
            b,
            c,
            accumulate: false,
        }
    }
}

/// Flops of `calls` (module docs).
pub(crate) fn flops(calls: &[GemmCall]) -> u64 {
    calls.iter().map(|c| 2 * (c.m * c.k * c.n) as u64).sum()
}

/// The calls of a pass with one buffer per operand, ready to be replayed.
pub(crate) struct GemmReplay<T> {
    calls: Vec<GemmCall>,
    a: Vec<T>,
    b: Vec<T>,
    out: Vec<T>,
}

impl<T: Scalar> GemmReplay<T> {
    /// Buffers large enough for every call, filled from a constant seed.
    pub fn new(calls: Vec<GemmCall>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let len = |rows: usize, cols: usize, s: (usize, usize)| {
            (rows.max(1) - 1) * s.0 + (cols.max(1) - 1) * s.1 + 1
        };
        let mut fill = |len: usize| -> Vec<T> {
            (0..len)
                .map(|_| T::from_f64(rng.random_range(-0.5..0.5)))
                .collect()
        };
        let a = fill(calls.iter().map(|c| len(c.m, c.k, c.a)).max().unwrap_or(1));
        let b = fill(calls.iter().map(|c| len(c.k, c.n, c.b)).max().unwrap_or(1));
        let out = fill(calls.iter().map(|c| len(c.m, c.n, c.c)).max().unwrap_or(1));
        GemmReplay { calls, a, b, out }
    }

    /// Runs every call once, in order.
    pub fn run(&mut self) {
        for c in &self.calls {
            let beta = if c.accumulate { T::ONE } else { T::ZERO };
            T::gemm(
                c.m,
                c.k,
                c.n,
                T::ONE,
                (&self.a, c.a.0, c.a.1),
                (&self.b, c.b.0, c.b.1),
                beta,
                (&mut self.out, c.c.0, c.c.1),
            );
        }
    }
}

/// Calls per second of each function, best of interleaved blocks (module docs), for about
/// `budget` in all, on the calling thread.
pub(crate) fn best_rates(budget: Duration, functions: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let per = budget / (11 * functions.len().max(1) as u32);
    let blocks: Vec<usize> = functions
        .iter_mut()
        .map(|f| {
            let start = Instant::now();
            let mut count = 0usize;
            while start.elapsed() < per || count < 3 {
                f();
                count += 1;
            }
            count * 2
        })
        .collect();
    const ROUNDS: usize = 5;
    let mut best = vec![0.0f64; functions.len()];
    for _ in 0..ROUNDS {
        for ((f, &block), best) in functions.iter_mut().zip(&blocks).zip(&mut best) {
            let start = Instant::now();
            for _ in 0..block {
                f();
            }
            *best = best.max(block as f64 / start.elapsed().as_secs_f64().max(1e-12));
        }
    }
    best
}
