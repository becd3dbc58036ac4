//! credentials (being written).
