//! `peff bench` (docs/methods.md §9): toy-trainer throughput and its fraction of the FMA peak (the
//! measurement is [`crate::bench`]).

use clap::Args;

use crate::bench::BenchConfig;
use crate::export::Format;

/// Flags of `peff bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Seconds per measurement (single-threaded, then all threads), after a short warm-up.
    #[arg(long, allow_hyphen_values = true, default_value_t = 3.0)]
    pub seconds: f64,
    /// Worker threads of the multi-threaded measurement, at most the logical CPUs (0: all).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub threads: i64,
    /// Also time the default `peff exact` run (regression, n = 6, T = 2000, all six methods).
    #[arg(long)]
    pub exact: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Core clock in GHz for the peak (default: the largest `cpu MHz` in /proc/cpuinfo, else 2.6).
    #[arg(long, allow_hyphen_values = true)]
    pub clock_ghz: Option<f64>,
    /// Float64 flops per cycle per core (default: 2 FMA units × f64 lanes of the detected vector
    /// width × 2, i.e. 32 with AVX-512, 16 with AVX2).
    #[arg(long, allow_hyphen_values = true)]
    pub flops_per_cycle: Option<f64>,
    /// Physical cores, whose FMA units bound the peak (0: detect from /proc/cpuinfo).
    #[arg(long, default_value_t = 0)]
    pub physical_cores: usize,
    /// Leave out the pruned networks' step rates by density and the Figure 1 sweep rates
    /// (about half the run's time).
    #[arg(long)]
    pub no_sweeps: bool,
}

impl BenchArgs {
    /// The library's configuration (checked by [`crate::bench::run`]); a negative thread count
    /// is refused here, with the flag's name.
    pub fn config(&self) -> anyhow::Result<BenchConfig> {
        if !(0..=1024).contains(&self.threads) {
            anyhow::bail!(
                "`--threads` must be in [0, 1024] (0: all logical CPUs), got {}",
                self.threads
            );
        }
        Ok(BenchConfig {
            seconds: self.seconds,
            threads: self.threads as usize,
            exact: self.exact,
            clock_ghz: self.clock_ghz,
            flops_per_cycle: self.flops_per_cycle,
            physical_cores: self.physical_cores,
            sweeps: !self.no_sweeps,
        })
    }
}

/// Runs the benchmark and prints its report.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let report = crate::bench::run(&args.config()?)?;
    print!("{}", crate::bench::render(&report, args.format)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    /// `peff bench --exact` times the same experiment that a plain `peff exact` runs.
    #[test]
    fn bench_times_the_default_exact_run() {
        let cli = Cli::try_parse_from(["peff", "exact", "--threads", "1"]).unwrap();
        let Command::Exact(args) = cli.command else {
            panic!("not exact")
        };
        let run = args.validate().unwrap();
        assert_eq!(run.experiment, crate::bench::default_exact_experiment());
        let cli = Cli::try_parse_from(["peff", "bench", "--seconds", "2"]).unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("not bench")
        };
        assert_eq!(args.config().unwrap().seconds.to_bits(), 2f64.to_bits());
        assert_eq!(args.config().unwrap().threads, 0);
    }
}
