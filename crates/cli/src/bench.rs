//! `taizhang bench …`: the measurements named in the issues, as programs (not timed tests).
//! Each prints what it measured; BENCHMARKS.md records the figures with the command.

use crate::Fail;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Placeholder until the benchmarks land.
    Scope,
}

pub async fn run(_cmd: BenchCmd) -> Result<u8, Fail> {
    Err(Fail("not yet".into(), 2))
}
