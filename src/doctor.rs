//! `omniscore doctor`: what this build can do on this machine.

use std::fmt::Write;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub fn report() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "omniscore {}", env!("CARGO_PKG_VERSION"));
    let features: Vec<&str> = [
        ("cuda", cfg!(feature = "cuda")),
        ("metal", cfg!(feature = "metal")),
        ("mkl", cfg!(feature = "mkl")),
        ("accelerate", cfg!(feature = "accelerate")),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| *n)
    .collect();
    let _ = writeln!(s, "build features: {}", if features.is_empty() { "none (CPU only)".into() } else { features.join(", ") });
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let _ = writeln!(
        s,
        "cpu: {cores} threads; avx {}, f16c {}, neon {}",
        yes(candle_core::utils::with_avx()),
        yes(candle_core::utils::with_f16c()),
        yes(candle_core::utils::with_neon())
    );
    let _ = writeln!(s, "cuda: {}", device_line(candle_core::utils::cuda_is_available(), "cuda", || candle_core::Device::new_cuda(0)));
    let _ = writeln!(s, "metal: {}", device_line(candle_core::utils::metal_is_available(), "metal", || candle_core::Device::new_metal(0)));
    let auto = match crate::runtime::device::open(crate::runtime::device::DeviceSpec::Auto) {
        Ok(d) => crate::runtime::device::describe(&d),
        Err(e) => format!("none usable: {e}"),
    };
    let _ = writeln!(s, "--device auto picks: {auto}");
    let _ = writeln!(s, "sqlite: {} (bundled)", rusqlite::version());
    let store = crate::runtime::model_store::ModelStore::from_env();
    let roots: Vec<String> = store.roots().map(|r| r.display().to_string()).collect();
    let _ = writeln!(s, "model store: {}", roots.join(", "));
    for card in crate::runtime::card::builtin_cards().iter().filter(|c| c.default_for_role) {
        let state = match store.locate(card) {
            Ok(files) => format!("installed at {}", files.dir.display()),
            Err(_) => format!("not installed (omniscore models pull {})", card.name),
        };
        let _ = writeln!(s, "default {}: {} — {state}", card.role.as_str(), card.name);
    }
    s
}

fn device_line(compiled: bool, feature: &str, open: impl Fn() -> candle_core::Result<candle_core::Device>) -> String {
    if !compiled {
        return format!("not in this build (rebuild with --features {feature})");
    }
    match open() {
        Ok(d) => format!("device 0 opened ({:?})", d.location()),
        Err(e) => format!("compiled in, but device 0 did not open: {e}"),
    }
}
