//! Quote-to-order tests.
