#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod audit;
pub mod config;
pub mod connect;
pub mod declare;
pub mod doctor;
mod environment;
mod ident;
pub mod import;
mod lock;
pub mod migrate;
pub mod platform;
#[cfg(any(feature = "sqlx", feature = "deadpool"))]
pub mod pool;
mod project;
pub mod provision;
pub mod relocate;
pub mod rotate;
pub mod secret;
pub mod usage;

pub use environment::{Cotenant, Environment};
pub use project::{MAX_PROJECT_NAME_LEN, NameError, ProjectName, RoleNames};
