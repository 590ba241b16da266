//! Times Kiln's drift report on data written by `benches/scipy_drift.py generate DIR`
//! (1,000,000 rows × 20 columns by default) and prints the time and peak memory; the same
//! report in SciPy/pandas is `benches/scipy_drift.py run DIR`. Both run, alternately, from
//! `benches/compare_scipy_drift.sh`.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin drift_report -- /tmp/drift-data
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use kiln::data::{Column, ColumnData, Table};
use kiln::monitor::{DriftConfig, DriftReport, Snapshot};
use kiln_benches::peak_rss_mib;

/// Time a drift report between two generated tables.
#[derive(Parser)]
struct Args {
    /// Directory with `meta.json`, `{ref,cur}_num.f64` and `{ref,cur}_cat.u8`.
    dir: PathBuf,
    /// Timed repetitions (the best is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Print the report.
    #[arg(long)]
    show: bool,
}

#[derive(serde::Deserialize)]
struct Meta {
    rows: usize,
    numeric: usize,
    categorical: usize,
    levels: Vec<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let meta: Meta = serde_json::from_str(&std::fs::read_to_string(args.dir.join("meta.json"))?)?;
    let reference = load(&args.dir, "ref", &meta)?;
    let current = load(&args.dir, "cur", &meta)?;
    let loaded = peak_rss_mib();
    let mut best = f64::INFINITY;
    let mut report = None;
    for _ in 0..args.repeat {
        let start = Instant::now();
        let (r_snap, c_snap) = (
            Snapshot::from_table(&reference)?,
            Snapshot::from_table(&current)?,
        );
        let snapshots = start.elapsed().as_secs_f64();
        let r = DriftReport::compute(&r_snap, &c_snap, &DriftConfig::default())?;
        if args.show {
            println!(
                "snapshots {snapshots:.3} s, statistics {:.3} s",
                start.elapsed().as_secs_f64() - snapshots
            );
        }
        best = best.min(start.elapsed().as_secs_f64());
        report = Some(r);
    }
    let report = report.context("--repeat must be at least 1")?;
    if args.show {
        print!("{report}");
    }
    println!(
        "kiln  drift report {} rows x {} columns: {:.3} s (best of {}), {} drifted, \
         peak RSS {:.0} MiB (data loaded: {:.0} MiB)",
        meta.rows,
        meta.numeric + meta.categorical,
        best,
        args.repeat,
        report.drifted_columns,
        peak_rss_mib(),
        loaded
    );
    Ok(())
}

fn load(dir: &Path, side: &str, meta: &Meta) -> anyhow::Result<Table> {
    let num = std::fs::read(dir.join(format!("{side}_num.f64")))?;
    let cat = std::fs::read(dir.join(format!("{side}_cat.u8")))?;
    if num.len() != meta.rows * meta.numeric * 8 || cat.len() != meta.rows * meta.categorical {
        bail!("{}: file sizes do not match meta.json", dir.display());
    }
    let mut columns = Vec::new();
    for (c, chunk) in num.chunks_exact(meta.rows * 8).enumerate() {
        let values = chunk
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        columns.push(Column::new(
            format!("num{c}"),
            ColumnData::Float(values),
            None,
        ));
    }
    for (c, chunk) in cat.chunks_exact(meta.rows).enumerate() {
        let levels = (0..meta.levels[c]).map(|l| format!("level{l}")).collect();
        let codes = chunk.iter().map(|&b| u32::from(b)).collect();
        columns.push(Column::new(
            format!("cat{c}"),
            ColumnData::Categorical { codes, levels },
            None,
        ));
    }
    Ok(Table::new(columns)?)
}
