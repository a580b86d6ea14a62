//! The object model shared by every component: the resource registry, per-kind
//! strategies (defaulting, validation, field selectors, table columns), selectors and
//! field errors. Pure: no I/O.

pub mod apply;
pub mod errors;
pub mod fieldvalidation;
pub mod gofmt;
pub mod registry;
pub mod registry_data;
pub mod selector;
pub mod table;
pub mod validation;
pub mod patch;
pub mod rbac;
pub mod schema;
pub mod strategy;
