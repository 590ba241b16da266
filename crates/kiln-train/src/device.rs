//! Trying a Burn device before a run depends on it. CubeCL and GPU backends panic on first use
//! when their GPU, driver or libraries are missing; this turns that panic into a message.

use burn::tensor::{Device, Tensor};

/// Makes a device and runs one small tensor through it. A panic in either (no adapter, no
/// driver, no libdevice) becomes the first line of the backend's panic message.
///
/// ```
/// use burn::tensor::Device;
///
/// let device = kiln_train::try_device(Device::flex).expect("flex needs nothing from the machine");
/// assert_eq!(device, Device::flex());
/// ```
pub fn try_device(make: impl FnOnce() -> Device) -> std::result::Result<Device, String> {
    let device = catch_first_line(make)?;
    run_one_tensor(&device)?;
    Ok(device)
}

/// Runs one small tensor through `device`: a panic becomes its first line, an execution error
/// its message on one line.
pub(crate) fn run_one_tensor(device: &Device) -> std::result::Result<(), String> {
    catch_first_line(|| Tensor::<1>::zeros([1], device).try_into_data())?
        .map(drop)
        .map_err(|e| one_line(&e.to_string()))
}

/// Burn's multi-line execution errors ("…\nCaused by:\n  reason") as one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "Caused by:")
        .collect::<Vec<_>>()
        .join(": ")
}

/// Runs `f`, turning a panic into the first line of its message.
pub(crate) fn catch_first_line<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .and_then(|m| m.lines().next())
            .unwrap_or("it panicked")
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_first_line() {
        let failed = catch_first_line(|| -> () { panic!("Unable to load libcuda.so.1\nmore") });
        assert_eq!(failed, Err("Unable to load libcuda.so.1".to_owned()));
        let formatted = catch_first_line(|| -> () { panic!("adapter {}", 0) });
        assert_eq!(formatted, Err("adapter 0".to_owned()));
        assert_eq!(catch_first_line(|| 7), Ok(7));
    }

    #[test]
    fn an_execution_error_reads_as_one_line() {
        let text = "An error happened during execution\nCaused by:\n  the fusion server failed";
        assert_eq!(
            one_line(text),
            "An error happened during execution: the fusion server failed"
        );
    }

    #[test]
    fn a_working_device_comes_back() {
        assert_eq!(try_device(Device::flex), Ok(Device::flex()));
    }
}
