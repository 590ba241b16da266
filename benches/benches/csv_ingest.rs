//! CSV ingestion throughput and peak memory on a synthetic numeric file of ≥ 100 MB.
//!
//! ```text
//! cargo bench -p kiln-benches --bench csv_ingest
//! benches/compare_pandas.sh   # the same file through pandas.read_csv, and the ratio
//! ```
//!
//! The file is generated once outside the timed loop (not committed) at
//! `target/bench-data/numeric.csv` or `KILN_BENCH_CSV`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::data::CsvLoader;
use kiln_benches::{PeakAlloc, ensure_numeric_csv};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

const MIN_BYTES: u64 = 100 * 1024 * 1024;

fn csv_ingest(c: &mut Criterion) {
    let (path, size) = ensure_numeric_csv(MIN_BYTES).expect("writing the synthetic CSV");
    let loader = CsvLoader::new();

    // One untimed load for peak memory.
    ALLOC.reset_peak();
    let before = ALLOC.live();
    let table = loader.load(&path).expect("loading the synthetic CSV");
    let peak = ALLOC.peak() - before;
    let numeric = table.rows() * table.schema().len() * 8;
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "csv_ingest: file {:.1} MiB, {} rows x {} cols; typed data {:.1} MiB; \
         peak heap during load {:.1} MiB ({:.2}x the typed data)",
        mib(size as usize),
        table.rows(),
        table.schema().len(),
        mib(numeric),
        mib(peak),
        peak as f64 / numeric as f64
    );
    drop(table);

    let mut group = c.benchmark_group("csv_ingest");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("numeric_20cols_100MB/infer", |b| {
        b.iter(|| black_box(loader.load(&path).expect("load")))
    });
    let schema = loader.infer_schema(&path).expect("schema");
    let fixed = CsvLoader::new().with_schema(schema);
    group.bench_function("numeric_20cols_100MB/schema", |b| {
        b.iter(|| black_box(fixed.load(&path).expect("load")))
    });
    group.finish();
}

criterion_group!(benches, csv_ingest);
criterion_main!(benches);
