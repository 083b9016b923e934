pub mod decoder;
pub mod ct2;
pub mod distillmos;
