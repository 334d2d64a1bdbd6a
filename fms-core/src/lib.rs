//! fms-core: the pure domain of fms.

pub mod activity;
pub mod clock;
pub mod decision;
pub mod ids;
pub mod sender;
pub mod tenant;
pub mod ticket;
pub mod user;
