//! Device choice for every model: one `--device auto|cpu|cuda[:N]|metal` flag, opened once and
//! passed down. `auto` prefers CUDA, then Metal, then the CPU, so the same command line works on
//! a GPU workstation and on a laptop. The candle calls used here compile in every build; in a
//! build without the `cuda` / `metal` feature they report "not available", which is turned into
//! an error that names the feature to rebuild with.

use candle_core::{DType, Device, DeviceLocation};
use std::fmt;
use std::str::FromStr;

/// The forms `--device` accepts, for error messages and `--help`.
pub const DEVICE_FORMS: &str = "auto, cpu, cuda, cuda:N (N = GPU index), metal";
/// The GPU index `cuda` and `auto` mean when none is given.
const DEFAULT_GPU: usize = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// CUDA if compiled in and GPU 0 opens, then Metal likewise, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
    Metal,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("--device `{given}`: not a device; expected one of {DEVICE_FORMS}")]
    Parse { given: String },
    #[error("--device {spec}: this build has no {feature} support; rebuild with `--features {feature}` (or use --device cpu)")]
    NotCompiled { spec: DeviceSpec, feature: &'static str },
    #[error("--device {spec}: the device did not open: {source}")]
    Open { spec: DeviceSpec, source: candle_core::Error },
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let parse_err = || DeviceError::Parse { given: s.to_string() };
        match t.as_str() {
            "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(DEFAULT_GPU)),
            "metal" => Ok(DeviceSpec::Metal),
            _ => match t.strip_prefix("cuda:") {
                Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    n.parse().map(DeviceSpec::Cuda).map_err(|_| parse_err())
                }
                _ => Err(parse_err()),
            },
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceSpec::Metal => f.write_str("metal"),
        }
    }
}

fn open_cuda(spec: DeviceSpec, ordinal: usize) -> Result<Device, DeviceError> {
    if !candle_core::utils::cuda_is_available() {
        return Err(DeviceError::NotCompiled { spec, feature: "cuda" });
    }
    Device::new_cuda(ordinal).map_err(|source| DeviceError::Open { spec, source })
}

fn open_metal(spec: DeviceSpec) -> Result<Device, DeviceError> {
    if !candle_core::utils::metal_is_available() {
        return Err(DeviceError::NotCompiled { spec, feature: "metal" });
    }
    Device::new_metal(DEFAULT_GPU).map_err(|source| DeviceError::Open { spec, source })
}

/// Opens the device `spec` names. `auto` never fails: a GPU that is compiled in but does not
/// open (no driver, busy, out of memory) falls through to the next choice.
pub fn open(spec: DeviceSpec) -> Result<Device, DeviceError> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda(n) => open_cuda(spec, n),
        DeviceSpec::Metal => open_metal(spec),
        DeviceSpec::Auto => Ok(open_cuda(DeviceSpec::Cuda(DEFAULT_GPU), DEFAULT_GPU)
            .or_else(|_| open_metal(DeviceSpec::Metal))
            .unwrap_or(Device::Cpu)),
    }
}

/// The float type weights are loaded in on `device`: bf16 on CUDA (same range as f32, tensor
/// cores), f16 on Metal (bf16 kernels are incomplete there), f32 on the CPU (half types are
/// emulated and slower there). Quantized GGUF weights keep their own types on every device.
pub fn preferred_dtype(device: &Device) -> DType {
    match device.location() {
        DeviceLocation::Cuda { .. } => DType::BF16,
        DeviceLocation::Metal { .. } => DType::F16,
        DeviceLocation::Cpu => DType::F32,
    }
}

/// One line for logs and `doctor`: where the work runs and in what precision.
pub fn describe(device: &Device) -> String {
    let dtype = format!("{:?}", preferred_dtype(device)).to_ascii_lowercase();
    match device.location() {
        DeviceLocation::Cpu => {
            let threads = candle_core::utils::get_num_threads();
            format!("cpu ({threads} threads, {dtype})")
        }
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id} ({dtype})"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id} ({dtype})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_accepted_form() {
        assert_eq!("auto".parse::<DeviceSpec>().unwrap(), DeviceSpec::Auto);
        assert_eq!("CPU".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert_eq!("cuda:3".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(3));
        assert_eq!(" metal ".parse::<DeviceSpec>().unwrap(), DeviceSpec::Metal);
        for spec in [DeviceSpec::Auto, DeviceSpec::Cpu, DeviceSpec::Cuda(2), DeviceSpec::Metal] {
            assert_eq!(spec.to_string().parse::<DeviceSpec>().unwrap(), spec);
        }
    }

    #[test]
    fn rejects_other_forms_listing_the_accepted_ones() {
        for bad in ["gpu", "cuda:", "cuda:-1", "cuda:x", "cuda0", "", "metal:1"] {
            let e = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(e.contains(DEVICE_FORMS), "{bad}: {e}");
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn cpu_opens_with_f32() {
        let d = open(DeviceSpec::Cpu).unwrap();
        assert!(d.is_cpu());
        assert_eq!(preferred_dtype(&d), DType::F32);
        assert!(describe(&d).starts_with("cpu ("), "{}", describe(&d));
    }

    #[test]
    fn auto_always_opens_something() {
        let d = open(DeviceSpec::Auto).unwrap();
        if !candle_core::utils::cuda_is_available() && !candle_core::utils::metal_is_available() {
            assert!(d.is_cpu());
        }
    }

    #[test]
    fn gpu_without_the_feature_names_the_feature() {
        if !candle_core::utils::cuda_is_available() {
            let e = open(DeviceSpec::Cuda(1)).unwrap_err().to_string();
            assert!(e.contains("--features cuda") && e.contains("cuda:1"), "{e}");
        }
        if !candle_core::utils::metal_is_available() {
            let e = open(DeviceSpec::Metal).unwrap_err().to_string();
            assert!(e.contains("--features metal"), "{e}");
        }
    }

    #[test]
    fn a_compiled_in_cuda_device_uses_bf16() {
        // Only meaningful on a CUDA build with a GPU; elsewhere there is nothing to open.
        if let Ok(d) = open(DeviceSpec::Cuda(0)) {
            assert_eq!(preferred_dtype(&d), DType::BF16);
            assert_eq!(describe(&d), "cuda:0 (bf16)");
        }
    }
}
