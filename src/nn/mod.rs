pub mod decoder;
pub mod distillmos;
