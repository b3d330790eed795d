//! The outside world a tenant's plugins may reach, by name: HTTP endpoints (with credentials
//! the host holds) and SQL databases.

pub mod http;
pub mod oauth;
pub mod rate;
pub mod sql;

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("connection '{connection}': {message}")]
    Config { connection: String, message: String },
    #[error("credentials from {source_name}: {message}")]
    Credentials {
        source_name: String,
        message: String,
    },
}
