//! The phase order of one request (being written).
