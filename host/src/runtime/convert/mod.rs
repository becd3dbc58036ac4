//! Conversions between the host IR (`crate::ir`) and the generated types of each
//! supported contract version. Surfaces and routing only ever see the host IR.

pub mod v0_1;
