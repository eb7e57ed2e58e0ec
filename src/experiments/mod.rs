//! The experiment engines: each takes a validated configuration and returns data (tallies,
//! rows), never touching the command line.
//!
//! - [`toy`]: the toy experiment of Appendix B.2 — every pruning method on every dataset (or a
//!   sample of datasets), masks tallied per (method, k), so `I(m; D | init) = H(m | init)`.
//! - [`run`]: one toy run as the `exact`, `sample`, `merge` and `verify` commands drive it: a
//!   shard of the datasets, checkpoints, Ctrl-C between windows, the mask-pmf hash.
//! - [`convergence`]: each entropy estimator against the exact value as the sample grows.
//! - [`memorize`]: memorisation capacity of pruned general MLPs (Fig. 1a, 1b), per seed.
//! - [`scaling`]: exact MI over a grid of dataset sizes and input dimensions, beside `H(D)`.

pub mod convergence;
pub mod memorize;
pub mod run;
pub mod scaling;
pub mod toy;
