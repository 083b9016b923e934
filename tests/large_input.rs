//! A 1 GiB response file is streamed: the run finishes and its peak memory stays far below the
//! file's size.

use assert_cmd::prelude::*;
use omniscore::data::synth::{write_dataset, SynthOptions};
use std::fs::File;
use std::io::BufWriter;
use std::process::Command;

const INSTANCES: usize = 2048;
/// 2048 responses x 512 KiB of content = 1 GiB.
const PADDING: usize = 512 * 1024;
const MAX_PEAK_RSS_MIB: i64 = 300;

/// Largest resident set of any child this test process has waited for, in MiB.
fn children_peak_rss_mib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) }, 0);
    usage.ru_maxrss / 1024 // KiB on Linux
}

#[test]
fn one_gib_response_file_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let gt = dir.path().join("gt.json");
    let responses = dir.path().join("responses.json");
    let opts = SynthOptions { instances: INSTANCES, seed: 11, response_padding: PADDING, missing_share: 0.0 };
    write_dataset(&opts, &mut BufWriter::new(File::create(&gt).unwrap()), &mut BufWriter::new(File::create(&responses).unwrap()))
        .unwrap();
    let size = std::fs::metadata(&responses).unwrap().len();
    assert!(size >= 1 << 30, "response file is {size} bytes");

    let out = dir.path().join("out");
    let output = Command::cargo_bin("omniscore")
        .unwrap()
        .args(["score", "--progress", "off", "--no-judge", "-o"])
        .arg(&out)
        .arg(&gt)
        .arg(&responses)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Missing media files are reported (the synthetic paths do not exist): exit 3, not 1.
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("{INSTANCES} instances")), "{stderr}");
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    assert_eq!(csv.lines().count(), INSTANCES + 1);

    let peak = children_peak_rss_mib();
    eprintln!("response file {} MiB, peak RSS {peak} MiB", size >> 20);
    assert!(peak < MAX_PEAK_RSS_MIB, "peak RSS {peak} MiB for a {} MiB file", size >> 20);
}
