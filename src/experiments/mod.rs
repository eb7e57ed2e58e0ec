//! The experiment engines: each takes a validated configuration and returns data (tallies,
//! rows), never touching the command line.
//!
//! - [`toy`]: the toy experiment of Appendix B.2 — every pruning method on every dataset (or a
//!   sample of datasets), masks tallied per (method, k), so `I(m; D | init) = H(m | init)` —
//!   and the engines that run only on it: [`toy::run`] (one pass over a shard's datasets, the
//!   mask-pmf hash), [`toy::convergence`] (each entropy estimator against the exact value as
//!   the sample grows), [`toy::scaling`] (exact MI over a grid of dataset sizes and input
//!   dimensions, beside `H(D)`), [`toy::stochastic`] (MI under stochastic training).
//! - [`pipeline`]: the run loop every experiment shares ([`pipeline::Experiment`],
//!   [`pipeline::Executor`]) and its `--checkpoint FILE` ([`pipeline::checkpoint`]): resumed
//!   by a rerun, saved on an interval, on a stop signal and at the end.
//! - [`memorize`]: memorisation capacity of pruned general MLPs (Fig. 1a, 1b), per seed.
//! - [`noise_corr`]: the student network's correlation with its label noise through IMP levels
//!   and learning-rate / gradient-noise sweeps (Fig. 1d–f, Fig. 2).

pub mod memorize;
pub mod noise_corr;
pub mod pipeline;
pub mod toy;
