//! cotenant: many projects on one shared PostgreSQL instance per environment.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod connect;
pub mod doctor;
mod environment;
mod ident;
mod lock;
mod project;
pub mod provision;
pub mod secret;

pub use environment::{Cotenant, Environment};
pub use project::{MAX_PROJECT_NAME_LEN, NameError, ProjectName, RoleNames};
