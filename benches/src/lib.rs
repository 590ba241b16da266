//! Shared helpers for Kiln's criterion benches: synthetic data and a peak-heap counter.
//! The benches themselves live in `benches/benches/`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A global allocator that tracks live and peak heap bytes; install it in a bench binary with
/// `#[global_allocator] static ALLOC: PeakAlloc = PeakAlloc::new();`.
pub struct PeakAlloc {
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl PeakAlloc {
    /// A counter at zero.
    pub const fn new() -> Self {
        Self {
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Restarts peak tracking from the current live size.
    pub fn reset_peak(&self) {
        self.peak
            .store(self.live.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Heap bytes live now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// The most heap bytes live at once since the last reset.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Default for PeakAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = self.live.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let live = self.live.fetch_add(grow, Ordering::Relaxed) + grow;
                self.peak.fetch_max(live, Ordering::Relaxed);
            } else {
                self.live
                    .fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

/// Columns in the synthetic numeric CSV.
pub const NUMERIC_COLUMNS: usize = 20;

/// Where the synthetic CSV goes: `KILN_BENCH_CSV`, else `target/bench-data/numeric.csv`.
pub fn numeric_csv_path() -> PathBuf {
    std::env::var_os("KILN_BENCH_CSV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/numeric.csv"),
        PathBuf::from,
    )
}

/// Writes (once) a deterministic numeric CSV of at least `min_bytes`: a header and rows of
/// [`NUMERIC_COLUMNS`] values, alternating integers and floats with 1–6 decimals, like
/// sensor or feature exports. Returns the path and the file size.
pub fn ensure_numeric_csv(min_bytes: u64) -> std::io::Result<(PathBuf, u64)> {
    let path = numeric_csv_path();
    if let Ok(meta) = std::fs::metadata(&path)
        && meta.len() >= min_bytes
    {
        return Ok((path, meta.len()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("partial");
    let mut out = BufWriter::new(File::create(&tmp)?);
    let header: Vec<String> = (0..NUMERIC_COLUMNS).map(|i| format!("c{i}")).collect();
    writeln!(out, "{}", header.join(","))?;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut written = 0u64;
    let mut line = String::with_capacity(256);
    while written < min_bytes {
        line.clear();
        for c in 0..NUMERIC_COLUMNS {
            // xorshift64*: fast and deterministic.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
            if c > 0 {
                line.push(',');
            }
            if c % 2 == 0 {
                line.push_str(&((r % 100_000) as i64 - 50_000).to_string());
            } else {
                let decimals = 1 + (r >> 60) as usize % 6;
                let value = (r % 10_000_000) as f64 / 1_000.0 - 5_000.0;
                line.push_str(&format!("{value:.decimals$}"));
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, &path)?;
    let size = std::fs::metadata(&path)?.len();
    Ok((path, size))
}

/// The training workloads of the performance issues, with Adam (batch 128 unless a bench says
/// otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// MLP 784-512-256-10.
    Mlp,
    /// Conv 1→32 3×3, pool 2, conv 32→64 3×3, pool 2, fc 1600→128→10.
    Cnn,
    /// Kiln's `ResidualCnn` with its defaults: a 3×3 stem of 16 channels, one basic block per
    /// stage of 16, 32 and 64 channels (stride 2 after the first), batch norm, global average
    /// pooling, linear 64→10.
    Resnet,
}

impl Workload {
    /// Every workload.
    pub const ALL: [Workload; 3] = [Workload::Mlp, Workload::Cnn, Workload::Resnet];

    /// The short name used in output.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Mlp => "mlp",
            Workload::Cnn => "cnn",
            Workload::Resnet => "resnet",
        }
    }
}

/// MNIST-shaped synthetic data: `rows` images of 784 uniform pixels in `[0, 1)` with labels
/// `0..10`, from a fixed xorshift stream (the values do not matter for speed).
pub fn mnist_shaped(rows: usize, seed: u64) -> kiln::train::ClassificationSet {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pixels: Vec<f32> = (0..rows * 784)
        .map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32)
        .collect();
    let labels: Vec<u32> = (0..rows).map(|_| (next() % 10) as u32).collect();
    let features = kiln::data::Matrix::new(rows, 784, pixels).expect("rows × 784 values");
    kiln::train::ClassificationSet::new(features, labels, 10).expect("finite pixels, labels < 10")
}

/// Trains `workload` for `epochs` epochs of `steps` batches of `batch` on `device` and returns
/// each epoch's samples per second (the first epoch includes warm-up).
pub fn training_throughput(
    workload: Workload,
    device: kiln::burn::tensor::Device,
    steps: usize,
    epochs: usize,
    batch: usize,
) -> anyhow::Result<Vec<f64>> {
    use kiln::models::{CnnConfig, MlpConfig, ResidualCnnConfig};
    use kiln::train::{Control, EpochMetrics, TrainConfig, Trainer};
    use std::sync::{Arc, Mutex};

    let data = mnist_shaped(steps * batch, 7);
    let rates = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&rates);
    let rows = data.len() as f64;
    let mut trainer = Trainer::new(TrainConfig::new(epochs, batch, 1e-3), device)?
        .with_progress(false)
        .with_observer(move |m: &EpochMetrics| {
            sink.lock().expect("not poisoned").push(rows / m.seconds);
            Control::Continue
        });
    match workload {
        Workload::Mlp => {
            trainer.fit(&MlpConfig::new(784, 10), &data, None)?;
        }
        Workload::Cnn => {
            trainer.fit(&CnnConfig::new(10), &data, None)?;
        }
        Workload::Resnet => {
            trainer.fit(&ResidualCnnConfig::new(10), &data, None)?;
        }
    }
    let rates = rates.lock().expect("not poisoned").clone();
    Ok(rates)
}

/// The median of a non-empty list.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The process's peak resident memory so far (Linux `VmHWM`), in MiB; NaN where unknown.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
