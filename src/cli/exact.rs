//! `peff exact`: exact `H(m | init) = I(m; D | init)` per method and k, by enumerating every
//! dataset, through the toy driver ([`super::toy`]) that `peff sample` shares.

use super::args::ToyArgs;

/// `peff exact`.
pub fn run(args: &ToyArgs) -> anyhow::Result<()> {
    super::toy::run_toy(args, None)
}
