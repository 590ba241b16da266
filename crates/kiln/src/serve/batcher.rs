//! Requests that arrive together share one forward pass: worker threads (sharing one model)
//! take feature rows from a queue, with every request queued behind them (and, with a
//! `max_wait`, those arriving that long after) up to `max_batch` rows, run the model once and
//! hand each request its rows back. With no wait an idle server adds no latency, and under
//! load the queue that builds while the model runs becomes the next batch.
//!
//! A small request that finds nothing queued or running (and no `max_wait` set) runs on its
//! own thread at once: handing it to a worker and back would cost two thread wake-ups, about
//! as much as the forward pass of a small model.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burn::tensor::Device;
use kiln_data::Matrix;
use tokio::sync::oneshot;

use crate::pipeline::{AnyBundle, PipelineError};
use crate::serve::metrics::Metrics;

/// One request's feature rows and where its outputs go.
struct Job {
    features: Matrix,
    reply: oneshot::Sender<Result<Matrix, String>>,
}

/// The most rows a request may have to run on its own thread when the model is idle.
const INLINE_ROWS: usize = 64;

/// The queue and the threads that run the model.
pub(crate) struct Batcher {
    queue: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Requests queued or being run (by a worker or inline).
    busy: Arc<AtomicUsize>,
    inline: bool,
    bundle: Arc<AnyBundle>,
    device: Device,
    metrics: Arc<Metrics>,
}

impl Batcher {
    /// Starts `workers` threads over one shared model.
    pub(crate) fn start(
        bundle: Arc<AnyBundle>,
        device: Device,
        workers: usize,
        max_batch: usize,
        max_wait: Duration,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        // Bounded: under overload, requests wait in the handlers (and time out there), not in
        // an ever-growing queue.
        let (tx, rx) = mpsc::sync_channel::<Job>(1024);
        let rx = Arc::new(Mutex::new(rx));
        let busy = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers.max(1) {
            let (rx, bundle, device, metrics, busy) = (
                rx.clone(),
                bundle.clone(),
                device.clone(),
                metrics.clone(),
                busy.clone(),
            );
            handles.push(
                std::thread::Builder::new()
                    .name(format!("kiln-model-{i}"))
                    .spawn(move || {
                        work(&rx, &bundle, &device, max_batch, max_wait, &metrics, &busy);
                    })?,
            );
        }
        Ok(Self {
            queue: Mutex::new(Some(tx)),
            workers: Mutex::new(handles),
            busy,
            inline: max_wait.is_zero(),
            bundle,
            device,
            metrics,
        })
    }

    /// The model's outputs for `features`, once a worker has run them (with other requests'
    /// rows, when they came together). `None` once the batcher is closed.
    pub(crate) async fn run(&self, features: Matrix) -> Option<Result<Matrix, String>> {
        if self.inline
            && features.rows() <= INLINE_ROWS
            && self
                .busy
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let open = self
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some();
            let outputs = open.then(|| {
                self.metrics.batch(features.rows());
                forward(&self.bundle, &self.device, &[&features])
            });
            self.busy.fetch_sub(1, Ordering::AcqRel);
            return outputs;
        }
        self.busy.fetch_add(1, Ordering::AcqRel);
        let answer = self.enqueue(features).await;
        if answer.is_none() {
            // Never queued, or dropped unanswered: no worker will count it off.
            self.busy.fetch_sub(1, Ordering::AcqRel);
        }
        answer
    }

    async fn enqueue(&self, features: Matrix) -> Option<Result<Matrix, String>> {
        let (reply, answer) = oneshot::channel();
        let mut job = Job { features, reply };
        loop {
            let sender = self
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()?;
            match sender.try_send(job) {
                Ok(()) => break,
                Err(TrySendError::Full(j)) => {
                    job = j;
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                Err(TrySendError::Disconnected(_)) => return None,
            }
        }
        answer.await.ok()
    }

    /// Stops taking requests; the workers finish what is queued, then exit.
    pub(crate) fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let handles =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        for h in handles {
            let _ = h.join();
        }
    }
}

fn work(
    rx: &Mutex<Receiver<Job>>,
    bundle: &AnyBundle,
    device: &Device,
    max_batch: usize,
    max_wait: Duration,
    metrics: &Metrics,
    busy: &AtomicUsize,
) {
    loop {
        // One worker gathers a batch at a time; the others wait for the next.
        let batch = {
            let rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
            let Ok(first) = rx.recv() else {
                return;
            };
            let mut rows = first.features.rows();
            let mut batch = vec![first];
            let deadline = Instant::now() + max_wait;
            while rows < max_batch {
                let left = deadline.saturating_duration_since(Instant::now());
                let next = if left.is_zero() {
                    rx.try_recv().ok()
                } else {
                    rx.recv_timeout(left).ok()
                };
                let Some(job) = next else {
                    break;
                };
                rows += job.features.rows();
                batch.push(job);
            }
            batch
        };
        run_batch(batch, bundle, device, metrics, busy);
    }
}

fn run_batch(
    batch: Vec<Job>,
    bundle: &AnyBundle,
    device: &Device,
    metrics: &Metrics,
    busy: &AtomicUsize,
) {
    let rows: usize = batch.iter().map(|j| j.features.rows()).sum();
    metrics.batch(rows);
    let parts: Vec<&Matrix> = batch.iter().map(|j| &j.features).collect();
    let outputs = forward(bundle, device, &parts);
    // Counted off before the answers go out, so a client's next request finds the model idle.
    busy.fetch_sub(batch.len(), Ordering::AcqRel);
    match outputs {
        Ok(outputs) => {
            let mut start = 0;
            for j in batch {
                let n = j.features.rows();
                let part = outputs.take(&(start..start + n).collect::<Vec<_>>());
                start += n;
                let _ = j.reply.send(Ok(part));
            }
        }
        Err(message) => {
            for j in batch {
                let _ = j.reply.send(Err(message.clone()));
            }
        }
    }
}

/// One forward pass over the rows of `parts`, stacked.
fn forward(bundle: &AnyBundle, device: &Device, parts: &[&Matrix]) -> Result<Matrix, String> {
    let run = || {
        if let [one] = parts {
            return bundle.predict_features(one, device);
        }
        let rows: usize = parts.iter().map(|m| m.rows()).sum();
        let cols = parts[0].cols();
        let mut data = Vec::with_capacity(rows * cols);
        for m in parts {
            data.extend_from_slice(m.as_slice());
        }
        let features = Matrix::new(rows, cols, data).map_err(|e| PipelineError::Data {
            path: "request".into(),
            source: Box::new(e),
        })?;
        bundle.predict_features(&features, device)
    };
    // A panic in the backend fails this pass's requests, not the thread.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| {
            Err(PipelineError::Invalid {
                key: "model".into(),
                reason: "the forward pass panicked on these rows".into(),
            })
        })
        .map_err(|e| crate::pipeline::error_line(&e))
}
