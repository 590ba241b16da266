//! Loads a CSV file and prints the time and throughput (a profiling target).
//!
//! ```text
//! cargo run --release -p kiln-examples --bin csv_load -- target/bench-data/numeric.csv [THREADS]
//! ```

use std::time::Instant;

use kiln::data::CsvLoader;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: csv_load FILE [THREADS]"))?;
    let mut loader = CsvLoader::new();
    if let Some(threads) = args.next() {
        loader = loader.with_threads(threads.parse()?);
    }
    let size = std::fs::metadata(&path)?.len() as f64;
    for _ in 0..3 {
        let start = Instant::now();
        let table = loader.load(&path)?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{} rows x {} cols in {secs:.3} s: {:.1} MB/s",
            table.rows(),
            table.schema().len(),
            size / 1e6 / secs
        );
    }
    Ok(())
}
