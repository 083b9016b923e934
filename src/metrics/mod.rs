//! Scores: structure, composition (SQCS, ICS), support and aggregation.

pub mod aggregate;
pub mod compose;
pub mod ics;
pub mod sqcs;
pub mod structure;
pub mod support;
