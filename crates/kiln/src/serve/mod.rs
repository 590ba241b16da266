//! Serving: a bundle behind an HTTP endpoint (`kiln serve BUNDLE`), in the protocols users'
//! tooling speaks, with the bundle's drift monitor watching live traffic.
//!
//! | route | what |
//! |---|---|
//! | `GET /ping`, `GET /health` | MLflow's health probe (200 with an empty body) |
//! | `GET /version` | the Kiln version |
//! | `POST /invocations` | MLflow's scoring protocol: `dataframe_split`, `dataframe_records`, `instances`, `inputs` (optional `params`), or `text/csv` |
//! | `GET /v2`, `/v2/health/live`, `/v2/health/ready` | the Open Inference Protocol's server routes |
//! | `GET /v2/models/{name}`, `…/ready`, `POST …/infer` | its model metadata, readiness, inference |
//! | `GET /metrics` | Prometheus: requests and errors by route, latency, rows, batches, drift |
//! | `GET /monitor` | the monitor's open window and last closed windows (JSON) |
//! | `POST /feedback` | true labels for earlier predictions, for live accuracy |
//!
//! Requests that arrive together share one forward pass: those that queued while the model
//! was busy, [`ServeConfig::with_max_batch`] rows at most, optionally waiting
//! [`ServeConfig::with_batch_wait`] for company. Bad input is a 4xx with a JSON
//! body naming the field, column or row; nothing a client sends stops the server. A
//! [`Server`] shuts down gracefully: in-flight requests finish, the monitor closes its window
//! and syncs its log. See docs/serving.md.
//!
//! ```no_run
//! use kiln::serve::{ServeConfig, Server};
//!
//! let server = Server::start("bundles/iris", ServeConfig::default().with_port(8080))?;
//! println!("serving on http://{}", server.addr());
//! server.wait()?; // until Ctrl-C or SIGTERM
//! # Ok::<(), kiln::serve::ServeError>(())
//! ```

mod batcher;
mod error;
mod live;
mod metrics;
mod mlflow;
mod routes;
mod schema;
mod v2;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use burn::tensor::Device;
use kiln_monitor::{Monitor, MonitorConfig, Window};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

pub use error::{ApiError, Result, ServeError};

use crate::pipeline::AnyBundle;
use batcher::Batcher;
use live::Live;
use metrics::Metrics;
use schema::Schema;

/// How a [`Server`] runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    host: String,
    port: u16,
    name: Option<String>,
    token: Option<String>,
    device: String,
    workers: usize,
    max_batch: usize,
    batch_wait: Duration,
    max_body: usize,
    window: Window,
    monitor_log: Option<PathBuf>,
    signals: bool,
}

impl Default for ServeConfig {
    /// 127.0.0.1:8080, no token, the `flex` device, one model worker, batches of up to 256 rows
    /// of the requests that queued while the worker was busy (no added wait), bodies up to
    /// 16 MiB, monitor windows of 1000 rows, no log file, no signal handling.
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            name: None,
            token: None,
            device: "flex".into(),
            workers: 1,
            max_batch: 256,
            batch_wait: Duration::ZERO,
            max_body: 16 << 20,
            window: Window::Rows(1000),
            monitor_log: None,
            signals: false,
        }
    }
}

impl ServeConfig {
    /// The address to bind (default 127.0.0.1: this machine only).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The port (0: any free one; [`Server::addr`] tells which).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The model's name in the Open Inference Protocol's routes (default: the bundle
    /// directory's name).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on every route but the health probes.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The device to run the model on, by name (`flex`, `wgpu`, …).
    pub fn with_device(mut self, device: impl Into<String>) -> Self {
        self.device = device.into();
        self
    }

    /// Threads running forward passes, sharing one model.
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// The most rows one forward pass gathers from waiting requests (a larger request runs
    /// alone).
    pub fn with_max_batch(mut self, rows: usize) -> Self {
        self.max_batch = rows;
        self
    }

    /// How long a forward pass waits for more requests to join it. The default, 0, adds no
    /// latency: a pass takes every request that queued while the previous one ran, so batches
    /// grow with the load by themselves.
    pub fn with_batch_wait(mut self, wait: Duration) -> Self {
        self.batch_wait = wait;
        self
    }

    /// The largest request body accepted, in bytes (larger: 413).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// When the monitor's windows close: after a number of rows, or on time.
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Appends each closed window's report to this file, one JSON line each.
    pub fn with_monitor_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.monitor_log = Some(path.into());
        self
    }

    /// Also shut down gracefully on Ctrl-C and SIGTERM (what `kiln serve` does).
    pub fn with_signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |field, reason: &str| {
            Err(ServeError::Invalid {
                field,
                reason: reason.into(),
            })
        };
        if self.workers == 0 {
            return bad("workers", "0; use at least 1");
        }
        if self.max_batch == 0 {
            return bad("max_batch", "0 rows; use at least 1");
        }
        if self.max_body == 0 {
            return bad("max_body", "0 bytes; use at least 1");
        }
        match self.window {
            Window::Rows(0) => return bad("window", "0 rows; use at least 1"),
            Window::Duration(d) if d.is_zero() => {
                return bad("window", "a zero duration; use a positive one");
            }
            _ => {}
        }
        if self.token.as_deref() == Some("") {
            return bad("token", "empty; give a secret, or no token");
        }
        Ok(())
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    name: String,
    bundle: Arc<AnyBundle>,
    schema: Schema,
    batcher: Batcher,
    metrics: Arc<Metrics>,
    live: Live,
    token: Option<[u8; 32]>,
    max_body: usize,
    ready: AtomicBool,
}

/// A running server: started by [`Server::start`] on its own threads, stopped by
/// [`shutdown`](Self::shutdown) or, with [`ServeConfig::with_signals`], by Ctrl-C or SIGTERM
/// ([`wait`](Self::wait)).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Server {
    /// Loads the bundle in `dir`, binds, and serves it on background threads.
    ///
    /// # Errors
    /// The bundle cannot be loaded, the device is not compiled in, a setting is out of range,
    /// the address cannot be bound, or the monitor log cannot be opened.
    pub fn start(dir: impl AsRef<Path>, config: ServeConfig) -> Result<Self> {
        config.validate()?;
        let dir = dir.as_ref();
        let device: Device = crate::backend::device(&config.device)?;
        let bundle = Arc::new(AnyBundle::load(dir, &device)?);
        let schema = Schema::of(&bundle);
        let monitor = live_monitor(dir, &schema, config.window);
        let live = Live::new(monitor, config.monitor_log.clone())?;
        let metrics = Arc::new(Metrics::new());
        let name = config.name.clone().unwrap_or_else(|| {
            dir.file_name()
                .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned())
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kiln-serve")
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let addr = format!("{}:{}", config.host, config.port);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(&addr))
            .map_err(|source| ServeError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let batcher = Batcher::start(
            bundle.clone(),
            device,
            config.workers,
            config.max_batch,
            config.batch_wait,
            metrics.clone(),
        )
        .map_err(ServeError::Runtime)?;
        let shared = Arc::new(Shared {
            name,
            bundle,
            schema,
            batcher,
            metrics,
            live,
            token: config
                .token
                .as_ref()
                .map(|t| Sha256::digest(t.as_bytes()).into()),
            max_body: config.max_body,
            ready: AtomicBool::new(true),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let signals = config.signals;
        let thread = std::thread::Builder::new()
            .name("kiln-serve-main".into())
            .spawn(move || runtime.block_on(run(listener, shared, stopped, signals)))
            .map_err(ServeError::Runtime)?;
        Ok(Self {
            addr: bound,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops taking connections, lets in-flight requests finish, closes the monitor's window
    /// and syncs its log.
    pub fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join()
    }

    /// Serves until Ctrl-C or SIGTERM (with [`ServeConfig::with_signals`]), then shuts down as
    /// [`shutdown`](Self::shutdown) does.
    pub fn wait(mut self) -> Result<()> {
        self.join()
    }

    fn join(&mut self) -> Result<()> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ServeError::Runtime(std::io::Error::other(
                "the server thread panicked",
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            let _ = self.join();
        }
    }
}

/// The bundle's monitor, or why it cannot watch this bundle's requests.
fn live_monitor(
    dir: &Path,
    schema: &Schema,
    window: Window,
) -> std::result::Result<Monitor, String> {
    if schema.columns().is_empty() {
        return Err("the model reads images; drift is monitored on table columns".into());
    }
    let monitor =
        Monitor::from_bundle(dir, MonitorConfig::new(window)).map_err(|e| e.to_string())?;
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name.as_str()).collect();
    if let Some(c) = monitor
        .reference()
        .columns()
        .iter()
        .find(|c| !names.contains(&c.name.as_str()))
    {
        return Err(format!(
            "the profile's column `{}` is not among the model's inputs",
            c.name
        ));
    }
    Ok(monitor)
}

async fn run(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stopped: oneshot::Receiver<()>,
    signals: bool,
) -> Result<()> {
    // Time windows close on time, not on the next request.
    let ticker = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(250));
            loop {
                every.tick().await;
                shared.live.tick();
            }
        })
    };
    let app = routes::router(shared.clone());
    let shutdown = async move {
        if signals {
            tokio::select! {
                _ = stopped => {}
                () = signal() => {}
            }
        } else {
            let _ = stopped.await;
        }
    };
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Runtime);
    shared.ready.store(false, Ordering::Relaxed);
    ticker.abort();
    // In-flight requests have their answers; the workers finish and exit.
    shared.batcher.close();
    let flushed = shared.live.flush();
    served.and(flushed)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
