//! Requests that arrive together share one forward pass: worker threads (sharing one model)
//! take feature rows from a queue, with every request queued behind them (and, with a
//! `max_wait`, those arriving that long after) up to `max_batch` rows, run the model once and
//! hand each request its rows back. With no wait an idle server adds no latency, and under
//! load the queue that builds while the model runs becomes the next batch.

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

/// The queue and the threads that run the model.
pub(crate) struct Batcher {
    queue: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
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
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers.max(1) {
            let (rx, bundle, device, metrics) =
                (rx.clone(), bundle.clone(), device.clone(), metrics.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("kiln-model-{i}"))
                    .spawn(move || work(&rx, &bundle, &device, max_batch, max_wait, &metrics))?,
            );
        }
        Ok(Self {
            queue: Mutex::new(Some(tx)),
            workers: Mutex::new(handles),
        })
    }

    /// The model's outputs for `features`, once a worker has run them (with other requests'
    /// rows, when they came together). `None` once the batcher is closed.
    pub(crate) async fn run(&self, features: Matrix) -> Option<Result<Matrix, String>> {
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
        run_batch(batch, bundle, device, metrics);
    }
}

fn run_batch(batch: Vec<Job>, bundle: &AnyBundle, device: &Device, metrics: &Metrics) {
    let rows: usize = batch.iter().map(|j| j.features.rows()).sum();
    metrics.batch(rows);
    let forward = || {
        if batch.len() == 1 {
            return bundle.predict_features(&batch[0].features, device);
        }
        let cols = batch[0].features.cols();
        let mut data = Vec::with_capacity(rows * cols);
        for j in &batch {
            data.extend_from_slice(j.features.as_slice());
        }
        let features = Matrix::new(rows, cols, data).map_err(|e| PipelineError::Data {
            path: "request".into(),
            source: Box::new(e),
        })?;
        bundle.predict_features(&features, device)
    };
    // A panic in the backend fails this batch's requests, not the worker.
    let outputs =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(forward)).unwrap_or_else(|_| {
            Err(PipelineError::Invalid {
                key: "model".into(),
                reason: "the forward pass panicked on these rows".into(),
            })
        });
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
        Err(e) => {
            let message = crate::pipeline::error_line(&e);
            for j in batch {
                let _ = j.reply.send(Err(message.clone()));
            }
        }
    }
}
