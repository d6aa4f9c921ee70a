//! Statistics shared by drift-check and approval-guard.
