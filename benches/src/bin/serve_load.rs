//! A closed-loop HTTP load generator for `benches/compare_serving.sh`: `--clients` threads,
//! each with its own keep-alive connection, send the same POST body back to back until
//! `--requests` requests or `--seconds` have passed (whichever comes first), after `--warmup`
//! requests per client that are not counted. Loopback only; every answer must be a 200.
//!
//! Prints one line: `clients N requests N seconds S throughput R/s p50 MS p99 MS errors N`.
//!
//! ```text
//! serve_load --url http://127.0.0.1:8080/invocations --body body.json --clients 16
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The endpoint (http://127.0.0.1:PORT/…).
    #[arg(long)]
    url: String,
    /// A file holding the request body.
    #[arg(long)]
    body: PathBuf,
    /// The body's content type.
    #[arg(long, default_value = "application/json")]
    content_type: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Requests in all (counted ones, over every client).
    #[arg(long, default_value_t = 5000)]
    requests: u64,
    /// Stop after this many seconds even if requests are left.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Uncounted requests per client first.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !(args.url.starts_with("http://127.0.0.1:") || args.url.starts_with("http://localhost:")) {
        bail!(
            "--url {}: this generator loads loopback servers only",
            args.url
        );
    }
    let body = std::fs::read(&args.body).with_context(|| format!("{}", args.body.display()))?;
    let issued = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let deadline = Duration::from_secs_f64(args.seconds);
    let started = std::sync::Mutex::new(None::<Instant>);
    let barrier = std::sync::Barrier::new(args.clients);
    let latencies: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.clients)
            .map(|_| {
                let (body, issued, errors, started, barrier, args) =
                    (&body, &issued, &errors, &started, &barrier, &args);
                s.spawn(move || -> Vec<f64> {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let send = || -> bool {
                        match agent
                            .post(&args.url)
                            .header("Content-Type", &args.content_type)
                            .send(&body[..])
                        {
                            Ok(mut r) => {
                                let ok = r.status().as_u16() == 200;
                                let _ = r.body_mut().read_to_vec();
                                ok
                            }
                            Err(_) => false,
                        }
                    };
                    for _ in 0..args.warmup {
                        send();
                    }
                    barrier.wait();
                    let t0 = *started.lock().unwrap().get_or_insert_with(Instant::now);
                    let mut mine = Vec::new();
                    while issued.fetch_add(1, Ordering::Relaxed) < args.requests
                        && t0.elapsed() < deadline
                    {
                        let t = Instant::now();
                        if !send() {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        mine.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started
        .lock()
        .unwrap()
        .map_or(0.0, |t| t.elapsed().as_secs_f64());
    let mut all: Vec<f64> = latencies.into_iter().flatten().collect();
    all.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "clients {} requests {} seconds {elapsed:.2} throughput {:.0} p50 {:.3} p99 {:.3} errors {}",
        args.clients,
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        errors.load(Ordering::Relaxed)
    );
    if errors.load(Ordering::Relaxed) > 0 {
        bail!("{} requests failed", errors.load(Ordering::Relaxed));
    }
    Ok(())
}
