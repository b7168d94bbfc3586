//! warden-gateway
