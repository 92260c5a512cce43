//! What write-api and read-api share: configuration, telemetry, problem+json errors, the item
//! domain, database access, health and the HTTP server with its graceful shutdown.

pub mod auth;
pub mod cli;
pub mod config;
pub mod connections;
pub mod consistency;
pub mod db;
pub mod entity;
pub mod error;
pub mod extract;
pub mod health;
pub mod http;
pub mod item;
mod json_log;
pub mod limits;
pub mod precondition;
pub mod request_framing;
pub mod request_id;
pub mod server;
pub mod telemetry;

pub use config::{Service, Settings};
pub use error::ApiError;
pub use server::{Api, AppContext, Application};
