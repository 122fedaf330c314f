//! The store's error type, shared by every backend.

/// What a store operation can fail with. Backends convert their driver
/// errors into these at the boundary, so callers never see SQL errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named entity does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An entity with that key already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// A value the caller gave is not acceptable (bad limit, bad key, bad filter, write to a deleted run…).
    #[error("{0}")]
    InvalidParameter(String),
    /// The backend cannot do this (e.g. monitoring over the REST store).
    #[error("{0}")]
    Unsupported(String),
    /// The backend failed (connection lost, disk full…): not the caller's fault.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

impl StoreError {
    /// `InvalidParameter` from anything printable.
    pub fn invalid(msg: impl Into<String>) -> Self {
        StoreError::InvalidParameter(msg.into())
    }
}

/// `Result` with [`StoreError`].
pub type Result<T> = std::result::Result<T, StoreError>;
