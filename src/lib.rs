#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod audit;
mod catalog;
pub mod config;
pub mod connect;
pub mod declare;
pub mod doctor;
mod environment;
mod error_chain;
mod ident;
pub mod import;
mod lock;
pub mod migrate;
pub mod placement;
pub mod platform;
#[cfg(any(feature = "sqlx", feature = "deadpool"))]
pub mod pool;
mod project;
pub mod provision;
pub mod relocate;
mod room;
pub mod rotate;
pub mod secret;
pub mod transfer;
pub mod usage;

pub use environment::{Cotenant, Environment};
pub use error_chain::error_chain;
pub use project::{MAX_PROJECT_NAME_LEN, NameError, ProjectName, RoleNames};
