//! Shared platform code.
