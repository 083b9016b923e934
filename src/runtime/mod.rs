pub mod card;
pub mod commands;
pub mod device;
pub mod model_store;
mod parts;
mod pip;
