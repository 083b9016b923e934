//! omniscore: local, resumable scoring of any-to-any multimodal model outputs (UniM metrics).

pub mod bench;
pub mod caption;
pub mod cases;
pub mod cli;
pub mod data;
pub mod doctor;
pub mod fingerprint;
pub mod import;
pub mod metrics;
pub mod pipeline;
pub mod problem;
pub mod progress;
pub mod report;
pub mod store;
pub mod units;
pub mod embed;
pub mod judge;
pub mod media;
pub mod quality;
pub mod nn;
pub mod runtime;
mod simd;
