//! Amazon States Language executor.
