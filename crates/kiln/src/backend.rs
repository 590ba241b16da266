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
    /// A compiled-in backend that fails on this machine (no GPU, no driver, no libdevice).
    #[error("device `{name}` is compiled in but unusable here: {source}; {hint}")]
    Unavailable {
        /// The name given.
        name: String,
        /// What the backend said.
        #[source]
        source: kiln_train::DeviceFailure,
        /// What the backend needs.
        hint: &'static str,
    },
}

/// The device called `name` (its first GPU for `wgpu` and `cuda`). A GPU or CubeCL device is
/// tried with one small tensor first, so a machine without its GPU, driver or libraries gets
/// [`DeviceError::Unavailable`] here rather than a panic in the middle of a run.
pub fn device(name: &str) -> Result<Device, DeviceError> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // deprecated upstream, kept available by design
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "cpu")]
        "cpu" => probe(
            name,
            "the `cpu` backend compiles kernels with the LLVM it was built against",
            Device::cpu,
        ),
        #[cfg(feature = "wgpu")]
        "wgpu" => probe(
            name,
            "wgpu needs a Vulkan, Metal or DX12 adapter (on Linux without a GPU: Mesa's \
             lavapipe, `apt install mesa-vulkan-drivers`; NVIDIA in a container also needs \
             the driver's graphics libraries)",
            || Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        ),
        #[cfg(feature = "cuda")]
        "cuda" => probe(
            name,
            "cuda needs an NVIDIA GPU, its driver's libcuda.so.1, and libdevice.10.bc under \
             $CUDA_PATH/nvvm/libdevice (see docs/gpu.md)",
            || Device::cuda(0),
        ),
        known if DEVICE_NAMES.contains(&known) => Err(DeviceError::NotCompiled {
            name: known.to_owned(),
            enabled: enabled_names().join(", "),
        }),
        other => Err(DeviceError::Unknown {
            name: other.to_owned(),
        }),
    }
}

/// Makes a device and runs one small tensor through it; a backend that panics (no adapter, no
/// driver) becomes [`DeviceError::Unavailable`] with its message and what it needs.
#[cfg_attr(
    not(any(feature = "cpu", feature = "wgpu", feature = "cuda")),
    allow(dead_code)
)]
fn probe(
    name: &str,
    hint: &'static str,
    make: impl FnOnce() -> Device,
) -> Result<Device, DeviceError> {
    kiln_train::try_device(make).map_err(|source| DeviceError::Unavailable {
        name: name.to_owned(),
        source,
        hint,
    })
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

/// Every compiled-in device that works on this machine (a compiled-in `cuda` without a GPU is
/// left out silently; [`devices_to_test`] says why).
pub fn enabled_devices() -> Vec<(&'static str, Device)> {
    enabled_names()
        .into_iter()
        .filter_map(|name| device(name).ok().map(|d| (name, d)))
        .collect()
}

/// The environment variable naming the devices a test run must have, comma-separated
/// (`KILN_REQUIRE_DEVICES=flex,wgpu`): CI sets it so a missing adapter fails the run instead of
/// skipping the device.
pub const REQUIRE_DEVICES_VAR: &str = "KILN_REQUIRE_DEVICES";

/// The devices to run a test body on: every compiled-in device that works here. One that is
/// compiled in but unusable (`cuda` on a machine without a GPU) is skipped with a line on stderr
/// saying why, unless [`REQUIRE_DEVICES_VAR`] names it; a required device that is unusable or
/// not compiled in is the error.
pub fn devices_to_test() -> Result<Vec<(&'static str, Device)>, DeviceError> {
    let required = std::env::var(REQUIRE_DEVICES_VAR).unwrap_or_default();
    let required: Vec<&str> = required
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    devices_with(&required, device)
}

/// [`devices_to_test`] with the required names and the device maker given.
fn devices_with(
    required: &[&str],
    make: impl Fn(&str) -> Result<Device, DeviceError>,
) -> Result<Vec<(&'static str, Device)>, DeviceError> {
    let enabled = enabled_names();
    for name in required.iter().filter(|n| !enabled.contains(n)) {
        // Unknown or not compiled in: `device` always fails for these, saying which.
        device(name)?;
    }
    let mut devices = Vec::new();
    for name in enabled {
        match make(name) {
            Ok(device) => devices.push((name, device)),
            Err(err) if required.contains(&name) => return Err(err),
            Err(err) => eprintln!("-- skipped device `{name}`: {err}"),
        }
    }
    Ok(devices)
}

/// Runs `body` once on every device of [`devices_to_test`], naming the device on stderr first,
/// so one test covers each backend (flex, wgpu on lavapipe and CubeCL's `cpu` in CI) through the
/// same code path.
pub fn for_each_device(mut body: impl FnMut(&str, Device)) -> Result<(), DeviceError> {
    for (name, device) in devices_to_test()? {
        eprintln!("-- on device `{name}`");
        body(name, device);
    }
    Ok(())
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
        assert!(enabled_devices().iter().any(|(name, _)| *name == "flex"));
    }

    #[test]
    fn an_unusable_device_is_skipped_unless_required() {
        let make = |name: &str| match name {
            "flex" => device(name),
            _ => Err(DeviceError::Unavailable {
                name: name.to_owned(),
                source: kiln_train::DeviceFailure::Panicked("no adapter".into()),
                hint: "install one",
            }),
        };
        let all = devices_with(&[], make).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0, "flex");
        assert_eq!(devices_with(&["flex"], make).unwrap().len(), 1);
        // A required device that is compiled in but unusable, or not compiled in, or unknown.
        if let Some(other) = enabled_names().into_iter().find(|&n| n != "flex") {
            let err = devices_with(&[other], make).unwrap_err();
            assert!(matches!(err, DeviceError::Unavailable { .. }), "{err}");
        }
        let missing = DEVICE_NAMES.iter().find(|n| !enabled_names().contains(n));
        if let Some(name) = missing {
            let err = devices_with(&[name], make).unwrap_err();
            assert!(matches!(err, DeviceError::NotCompiled { .. }), "{err}");
        }
        let err = devices_with(&["tpu"], make).unwrap_err();
        assert!(matches!(err, DeviceError::Unknown { .. }), "{err}");
    }

    #[test]
    fn a_backend_that_panics_on_first_use_is_an_error_saying_what_it_needs() {
        let err = probe("cuda", "cuda needs an NVIDIA GPU", || {
            panic!("Unable to dynamically load the \"cuda\" shared library\nmore detail")
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "device `cuda` is compiled in but unusable here: Unable to dynamically \
                 load the \"cuda\" shared library; cuda needs an NVIDIA GPU"
            ),
            "{text}"
        );
        assert!(!text.contains("more detail"), "{text}");
        assert!(probe("flex", "", Device::flex).is_ok());
    }
}
