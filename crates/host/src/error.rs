/// Why a reading could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No mounted file system holds the path.
    #[error("{0}: no mounted file system holds it")]
    NoFileSystem(String),
    /// The system reports no total memory.
    #[error("the total memory is unknown")]
    NoMemory,
}
