//! routing (being written).
