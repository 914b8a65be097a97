//! Approvals: who may decide what (policy), the request as stored and shown, and the desk that
//! turns clicks into exactly-once decisions.

mod desk;
mod policy;
mod request;

pub use desk::{ApprovalEvent, Desk, SharedDesk, message_key, reason_of};
pub use policy::{ApprovalsConfig, Member, Policy, Refusal, RoleMembers, Rule};
pub use request::{APPROVE, ApprovalRequest, REJECT};
