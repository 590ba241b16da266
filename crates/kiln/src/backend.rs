//! Choosing a Burn device by name at run time (`--device flex|ndarray|cpu|wgpu|cuda`).

use burn::tensor::Device;

/// Every backend name Kiln knows, compiled in or not.
pub const DEVICE_NAMES: &[&str] = &["flex", "ndarray", "cpu", "wgpu", "cuda"];

/// Why a device name could not be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Not a backend name.
    #[error("unknown device `{name}`; use one of: flex, ndarray, cpu, wgpu, cuda")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// A known backend whose Cargo feature was not enabled in this build.
    #[error(
        "device `{name}` is not compiled in; rebuild with `--features kiln/{name}` \
         (compiled in: {enabled})"
    )]
    NotCompiled {
        /// The name given.
        name: String,
        /// The names that are compiled in.
        enabled: String,
    },
}

/// The device called `name` (its first GPU for `wgpu` and `cuda`).
pub fn device(name: &str) -> Result<Device, DeviceError> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // deprecated upstream, kept available by design
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "cpu")]
        "cpu" => Ok(Device::cpu()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        known if DEVICE_NAMES.contains(&known) => Err(DeviceError::NotCompiled {
            name: known.to_owned(),
            enabled: enabled_names().join(", "),
        }),
        other => Err(DeviceError::Unknown {
            name: other.to_owned(),
        }),
    }
}

/// The names of the backends compiled into this build.
pub fn enabled_names() -> Vec<&'static str> {
    [
        #[cfg(feature = "flex")]
        "flex",
        #[cfg(feature = "ndarray")]
        "ndarray",
        #[cfg(feature = "cpu")]
        "cpu",
        #[cfg(feature = "wgpu")]
        "wgpu",
        #[cfg(feature = "cuda")]
        "cuda",
    ]
    .into_iter()
    .collect()
}

/// Every compiled-in device, for running one test body on each.
pub fn enabled_devices() -> Vec<(&'static str, Device)> {
    enabled_names()
        .into_iter()
        .filter_map(|name| device(name).ok().map(|d| (name, d)))
        .collect()
}

/// Runs `body` once on every compiled-in device, naming the device on stderr first, so one
/// test covers each backend (flex, and wgpu on lavapipe in CI) through the same code path.
pub fn for_each_device(mut body: impl FnMut(&str, Device)) {
    for (name, device) in enabled_devices() {
        eprintln!("-- on device `{name}`");
        body(name, device);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_or_say_why_not() {
        assert!(device("flex").is_ok());
        assert!(matches!(device("tpu"), Err(DeviceError::Unknown { .. })));
        let missing = DEVICE_NAMES.iter().find(|n| !enabled_names().contains(n));
        if let Some(name) = missing {
            let err = device(name).unwrap_err();
            assert!(err.to_string().contains(&format!("kiln/{name}")), "{err}");
        }
        assert_eq!(enabled_devices().len(), enabled_names().len());
    }
}
