//! The NameServer: independent route registries that never talk to each other.
//!
//! Brokers register with every NameServer; each NameServer builds its own view in a
//! [`route_info_manager::RouteInfoManager`], drops brokers that stopped registering (a scan every
//! `scanNotActiveBrokerInterval`, removing those with `last + 120 s < now`) or whose connection
//! closed, and answers clients' route queries. It never pushes anything: clients poll.

pub mod controller;
pub mod route_info_manager;
