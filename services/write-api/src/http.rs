//! write-api's resource routes, one module per resource.

pub mod items;

use axum::Router;
use catalog_core::AppContext;

pub fn router() -> Router<AppContext> {
    items::router()
}
