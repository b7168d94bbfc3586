//! warden-core
