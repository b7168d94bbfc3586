//! warden-ledger
