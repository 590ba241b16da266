//! Trying a Burn device before a run depends on it. CubeCL and GPU backends panic on first use
//! when their GPU, driver or libraries are missing; this turns that into a [`DeviceFailure`].

use burn::tensor::{Device, ExecutionError, Tensor};

/// Why a device could not run one small tensor.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DeviceFailure {
    /// The backend panicked (no adapter, no driver, no libdevice). A panic carries no error
    /// value, so this is the first line of its message.
    #[error("{0}")]
    Panicked(String),
    /// The backend reported an error running the tensor (shown on one line).
    #[error("{}", one_line(&.0.to_string()))]
    Execution(#[source] ExecutionError),
}

/// Makes a device and runs one small tensor through it.
///
/// # Errors
/// [`DeviceFailure`] when either step panics or the backend reports an execution error.
///
/// ```
/// use burn::tensor::Device;
///
/// let device = kiln_train::try_device(Device::flex).expect("flex needs nothing from the machine");
/// assert_eq!(device, Device::flex());
/// ```
pub fn try_device(make: impl FnOnce() -> Device) -> Result<Device, DeviceFailure> {
    let device = catch_panic(make)?;
    run_one_tensor(&device)?;
    Ok(device)
}

/// Runs one small tensor through `device`.
pub(crate) fn run_one_tensor(device: &Device) -> Result<(), DeviceFailure> {
    catch_panic(|| Tensor::<1>::zeros([1], device).try_into_data())?
        .map(drop)
        .map_err(DeviceFailure::Execution)
}

/// Runs `f`, turning a panic into [`DeviceFailure::Panicked`] with its message's first line.
///
/// CubeCL runs each device on a thread of its own: when that thread panics (cudarc finding no
/// `libcuda.so.1`), the caller's panic is only the channel to it closing (`RecvError`), whose
/// text says nothing; the cause is the other thread's panic, which Rust prints above. The
/// failure then says that instead.
pub(crate) fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, DeviceFailure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .and_then(|m| m.lines().next())
            .unwrap_or("it panicked");
        let closed = ["RecvError", "SendError"]
            .iter()
            .any(|e| message.ends_with(&format!("value: {e}")));
        DeviceFailure::Panicked(if closed {
            "the backend's device thread panicked (its message is printed above)".to_owned()
        } else {
            message.to_owned()
        })
    })
}

/// Burn's multi-line execution errors ("…\nCaused by:\n  reason") as one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "Caused by:")
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_first_line() {
        let failed = catch_panic(|| -> () { panic!("Unable to load libcuda.so.1\nmore") });
        assert_eq!(
            failed.unwrap_err().to_string(),
            "Unable to load libcuda.so.1"
        );
        let formatted = catch_panic(|| -> () { panic!("adapter {}", 0) });
        assert_eq!(formatted.unwrap_err().to_string(), "adapter 0");
        // The device thread's channel closing is not the cause; the thread's own panic is.
        let (send, receive) = std::sync::mpsc::channel::<()>();
        drop(send);
        let closed = catch_panic(|| receive.recv().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            closed.starts_with("the backend's device thread panicked"),
            "{closed}"
        );
        assert_eq!(catch_panic(|| 7).unwrap(), 7);
    }

    #[test]
    fn an_execution_error_reads_as_one_line_and_stays_its_source() {
        let err = DeviceFailure::Execution(ExecutionError::WithContext {
            reason: "the fusion server failed".into(),
        });
        assert_eq!(
            err.to_string(),
            "An error happened during execution: the fusion server failed"
        );
        let source = std::error::Error::source(&err).expect("the execution error is kept");
        assert!(source.to_string().contains("Caused by:"), "{source}");
    }

    #[test]
    fn a_working_device_comes_back() {
        assert_eq!(try_device(Device::flex).unwrap(), Device::flex());
    }

    #[test]
    fn failures_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<DeviceFailure>();
    }
}
