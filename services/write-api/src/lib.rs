//! write-api: creates, replaces, patches and deletes items on the primary database.
//! Every successful write answers with `X-Consistency-Token`, the GTID of its commit, which
//! read-api accepts to read its own writes from a replica.

mod http;
mod migrate;
mod openapi;
mod store;

use catalog_core::{Api, Application, Service, Settings};
use utoipa::OpenApi;

pub use migrate::migrate;

/// The resource routes (under `/api/write`) and their OpenAPI document.
pub fn api() -> Api {
    Api {
        routes: http::router(),
        openapi: openapi::WriteApiDoc::openapi(),
    }
}

pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    Application::build(Service::WriteApi, settings, api).await
}
