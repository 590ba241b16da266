//! Kiln's Parquet reader on one file: the median time to read every column into a typed
//! `Table` over several runs, its throughput in MB/s (10^6 bytes of file) and the growth of the
//! process's peak RSS, the same measures `benches/pyarrow_parquet.py` prints for pyarrow and
//! pandas. `benches/compare_pyarrow.sh` runs them side by side on the same files.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin parquet_read -- FILE --runs 5
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use kiln::data::ParquetLoader;
use kiln_benches::{median, peak_rss_mib};

/// Read a Parquet file into a table, several times.
#[derive(Parser)]
struct Args {
    /// The Parquet file (or directory of part files).
    file: PathBuf,
    /// Timed reads.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Reader threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len() as f64;
    let mut loader = ParquetLoader::new();
    if let Some(threads) = args.threads {
        loader = loader.with_threads(threads);
    }
    let base = peak_rss_mib();
    let mut times = Vec::with_capacity(args.runs);
    let mut shape = (0, 0);
    for _ in 0..args.runs.max(1) {
        let start = Instant::now();
        let table = loader.load(&args.file)?;
        times.push(start.elapsed().as_secs_f64());
        shape = (table.rows(), table.columns().len());
        drop(table);
    }
    let seconds = median(&times);
    println!(
        "kiln ParquetLoader: {:.1} MB/s (median of {}: {seconds:.3} s), {} rows x {} cols, \
         peak RSS growth {:.1} MiB",
        size / 1e6 / seconds,
        times.len(),
        shape.0,
        shape.1,
        peak_rss_mib() - base,
    );
    println!("seconds={seconds:.6}");
    Ok(())
}
