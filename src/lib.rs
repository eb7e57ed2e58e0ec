//! peff: the effective parameter count of pruned networks,
//! `p_eff = I(m; D) + E[#kept weights]` (Kumar, Luo & Sellke, "No Free Prune", ICML 2024).
//!
//! peff trains the paper's toy MLP on every possible dataset (or a sample of them), prunes it
//! with six methods, and measures how much information each mask carries about its data:
//! exactly by enumeration, or with bias-corrected entropy estimators when sampling.

#![warn(missing_docs)]
// Float comparisons must be deliberate (snapped scores, exact zeros); see `mask::snap`.
#![deny(clippy::float_cmp)]

pub mod bench;
pub mod bound;
pub mod cli;
pub mod data;
pub mod experiments;
pub mod export;
pub mod info;
pub mod mask;
pub mod model;
pub mod partial;
pub mod plot;
pub mod prune;
pub mod report;
