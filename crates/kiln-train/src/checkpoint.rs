//! Checkpoints: model, optimizer and run state at the end of an epoch, so a run killed at any
//! moment resumes from the last completed checkpoint and ends with the same metrics.
//!
//! Layout of a checkpoint directory:
//!
//! ```text
//! latest.json         {"epoch": N}: the newest complete checkpoint (replaced atomically)
//! epoch-N/model.bpk   model weights (Burn's burnpack format)
//! epoch-N/optim.bpk   optimizer state (Adam moments, momentum)
//! epoch-N/best.bpk    the best weights so far, when early stopping restores them
//! epoch-N/state.json  the epoch, the metrics history and early-stopping progress
//! ```
//!
//! Randomness needs no saved state: epoch `e` reseeds the device and the shuffle from the
//! run's seed and `e`.

use std::fs;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::device::{DeviceFailure, catch_panic, run_one_tensor};
use crate::error::{Result, TrainError};
use crate::events::EpochMetrics;

/// Where and how often to write checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckpointPolicy {
    pub(crate) dir: PathBuf,
    pub(crate) every: usize,
}

/// Run state saved next to the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunState {
    pub(crate) epoch: usize,
    pub(crate) history: Vec<EpochMetrics>,
    pub(crate) best_score: Option<f64>,
    pub(crate) since_best: usize,
    pub(crate) best_epoch: Option<usize>,
    /// An observer or early stopping ended the run at this epoch.
    pub(crate) stopped: bool,
}

#[derive(Serialize, Deserialize)]
struct Latest {
    epoch: usize,
}

impl CheckpointPolicy {
    pub(crate) fn epoch_dir(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("epoch-{epoch}"))
    }

    /// The directory of the newest complete checkpoint and its state, if any.
    pub(crate) fn latest(&self) -> Result<Option<(PathBuf, RunState)>> {
        let pointer = self.dir.join("latest.json");
        let text = match fs::read_to_string(&pointer) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&pointer, e)),
        };
        let latest: Latest = serde_json::from_str(&text).map_err(|e| json(&pointer, e))?;
        let dir = self.epoch_dir(latest.epoch);
        let state_path = dir.join("state.json");
        let text = fs::read_to_string(&state_path).map_err(|e| io(&state_path, e))?;
        let state = serde_json::from_str(&text).map_err(|e| json(&state_path, e))?;
        Ok(Some((dir, state)))
    }

    /// Writes `epoch`'s checkpoint: `write_files` fills a fresh directory, then the directory
    /// is renamed into place and `latest.json` is replaced, each atomically, so a kill at any
    /// point leaves the previous checkpoint intact.
    pub(crate) fn save(
        &self,
        state: &RunState,
        write_files: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let staging = self.dir.join(format!(".epoch-{}.partial", state.epoch));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(|e| io(&staging, e))?;
        write_files(&staging)?;
        let state_path = staging.join("state.json");
        let text = serde_json::to_string_pretty(state).map_err(|e| json(&state_path, e))?;
        fs::write(&state_path, text).map_err(|e| io(&state_path, e))?;
        let target = self.epoch_dir(state.epoch);
        let _ = fs::remove_dir_all(&target);
        fs::rename(&staging, &target).map_err(|e| io(&target, e))?;
        let pointer = self.dir.join("latest.json");
        let tmp = self.dir.join("latest.json.partial");
        let text =
            serde_json::to_string(&Latest { epoch: state.epoch }).map_err(|e| json(&pointer, e))?;
        fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        fs::rename(&tmp, &pointer).map_err(|e| io(&pointer, e))?;
        // Older checkpoints are no longer needed.
        if let Some(previous) = state.epoch.checked_sub(self.every).filter(|&e| e > 0) {
            let _ = fs::remove_dir_all(self.epoch_dir(previous));
        }
        Ok(())
    }
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

fn json(path: &Path, source: serde_json::Error) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

/// Burn's `ModuleOptimizer::load` puts the saved optimizer state on Burn's default device
/// (`Device::default()`: CUDA first when it is compiled in, then wgpu, cpu, flex, whatever the
/// trainer's device), and moves it to the parameters' device at the next step. A default device
/// that is compiled in but absent (`kiln/cuda` on a machine without a GPU) panics there, so it is
/// tried first, and its failure is [`TrainError::DefaultDevice`] naming `BURN_DEVICE`, which
/// Burn reads to choose its default.
pub(crate) fn check_default_device(device: &Device, file: &Path) -> Result<()> {
    try_default_device(device, Device::default, run_one_tensor).map_err(|(default, source)| {
        TrainError::DefaultDevice {
            path: file.to_owned(),
            default,
            source,
        }
    })
}

/// Makes Burn's default device and, unless it is the trainer's, runs `probe` on it; a failure
/// in either comes with the default device as Burn prints it ("?" when it could not be made).
fn try_default_device<D: PartialEq + std::fmt::Debug>(
    device: &D,
    make: impl FnOnce() -> D,
    probe: impl FnOnce(&D) -> std::result::Result<(), DeviceFailure>,
) -> std::result::Result<(), (String, DeviceFailure)> {
    let default = catch_panic(make).map_err(|failure| ("?".to_owned(), failure))?;
    if &default == device {
        return Ok(());
    }
    catch_panic(|| probe(&default))
        .and_then(|probed| probed)
        .map_err(|failure| (format!("{default:?}"), failure))
}

pub(crate) fn record(path: &Path, source: burn::store::RecordError) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`try_default_device`]'s outcome with the failure as its text.
    fn tried(
        make: impl FnOnce() -> &'static str,
        probe: impl FnOnce(&&str) -> std::result::Result<(), DeviceFailure>,
    ) -> std::result::Result<(), (String, String)> {
        try_default_device(&"flex", make, probe).map_err(|(d, failure)| (d, failure.to_string()))
    }

    #[test]
    fn an_unusable_default_device_is_an_error_naming_it() {
        let no_gpu = |_: &&str| -> std::result::Result<(), DeviceFailure> {
            panic!("Unable to load libcuda.so.1\nmore detail")
        };
        // The trainer's own device is not tried again.
        assert_eq!(tried(|| "flex", no_gpu), Ok(()));
        let no_cuda = (
            "\"cuda\"".to_owned(),
            "Unable to load libcuda.so.1".to_owned(),
        );
        assert_eq!(tried(|| "cuda", no_gpu), Err(no_cuda));
        assert_eq!(tried(|| "wgpu", |_| Ok(())), Ok(()));
        let no_adapter = |_: &&str| Err(DeviceFailure::Panicked("no adapter".to_owned()));
        let no_wgpu = ("\"wgpu\"".to_owned(), "no adapter".to_owned());
        assert_eq!(tried(|| "wgpu", no_adapter), Err(no_wgpu));
        let bad_env = || -> &str { panic!("BURN_DEVICE=tpu is unknown") };
        let unknown = ("?".to_owned(), "BURN_DEVICE=tpu is unknown".to_owned());
        assert_eq!(tried(bad_env, |_| Ok(())), Err(unknown));
        let err = TrainError::DefaultDevice {
            path: "run/epoch-1/optim.bpk".into(),
            default: "Cube(Cuda(0))".into(),
            source: DeviceFailure::Panicked("Unable to load libcuda.so.1".into()),
        };
        assert!(err.to_string().contains("set BURN_DEVICE"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
