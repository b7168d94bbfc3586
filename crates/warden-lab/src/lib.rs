//! warden-lab
