//! Why a model could not be loaded: the one error type of this crate.

/// Shorthand for this crate's results.
pub type Result<T> = std::result::Result<T, Error>;

/// Something went wrong while resolving or loading a model to serve.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URI is not `models:/NAME@ALIAS` or `models:/NAME/VERSION`.
    #[error("cannot serve '{uri}': expected models:/NAME@ALIAS or models:/NAME/VERSION")]
    UnsupportedUri {
        /// The URI as given.
        uri: String,
    },
    /// The registry or the artifact store refused a read.
    #[error("cannot load {uri}: {source}")]
    Store {
        /// The model URI being loaded.
        uri: String,
        /// What the store said.
        #[source]
        source: lathe_store::StoreError,
    },
    /// The model's files are missing, unreadable or inconsistent.
    #[error("cannot load {uri}: {reason}")]
    Invalid {
        /// The model URI being loaded.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
}
