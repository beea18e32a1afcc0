//! What every room that converges part of a project in one transaction shares (platform
//! access, Data API roles): the plan as a list of [`Step`](crate::provision::Step)s with the
//! role switches they need ([`RoomPlan`]), and the transaction that applies it ([`apply`],
//! [`apply_in`] over a [`Room`]).
//!
//! Provisioning's own plan is richer (passwords, instance-wide steps after the project's) and
//! embeds these plans through [`RoomPlan::script_body`]; it shares [`default_privileges`] with
//! the Data API.

mod converge;
pub(crate) mod default_privileges;
mod plan;

pub(crate) use converge::{Room, apply, apply_in};
pub(crate) use plan::{RoomPlan, Wording};
