//! `peff bound`: Theorem 5.6 of the paper as a calculator (see [`crate::info::bound`]).

use clap::Args;

use crate::info::bound::BoundInputs;

/// Flags of `peff bound`.
#[derive(Debug, Clone, Args)]
pub struct BoundArgs {
    /// Number of samples n.
    #[arg(long, allow_hyphen_values = true)]
    pub n: f64,
    /// Input dimension d.
    #[arg(long, allow_hyphen_values = true)]
    pub d: f64,
    /// Excess fit ε in (0, 1).
    #[arg(long, allow_hyphen_values = true)]
    pub epsilon: f64,
    /// Failure probability δ in (0, 1).
    #[arg(long, allow_hyphen_values = true)]
    pub delta: f64,
    /// Isoperimetry constant c > 0.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1.0)]
    pub c: f64,
    /// Diameter W > 0 of the parameter set.
    #[arg(long, allow_hyphen_values = true)]
    pub w: f64,
    /// Lipschitz constant J > 0 of parameters to functions.
    #[arg(long, allow_hyphen_values = true)]
    pub j: f64,
    /// Mutual information I(m; D) ≥ 0 in bits.
    #[arg(long, allow_hyphen_values = true)]
    pub mi: f64,
    /// Kept parameters k ≥ 0.
    #[arg(long, allow_hyphen_values = true)]
    pub k: f64,
}

impl BoundArgs {
    /// The library's inputs (checked when evaluated).
    pub fn inputs(&self) -> BoundInputs {
        BoundInputs {
            n: self.n,
            d: self.d,
            epsilon: self.epsilon,
            delta: self.delta,
            c: self.c,
            w: self.w,
            j: self.j,
            mi: self.mi,
            k: self.k,
        }
    }
}

/// Evaluates the bound and prints it as JSON.
pub fn run(args: &BoundArgs) -> anyhow::Result<()> {
    let bound = args.inputs().evaluate()?;
    println!("{}", serde_json::to_string_pretty(&bound)?);
    Ok(())
}
