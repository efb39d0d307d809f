//! Build cost, project (b): two routes served by the bootstrap:
//! configuration from the environment, logging, the registry, health and
//! graceful shutdown (`Observability`), the HTTP metrics layer and the
//! `/metrics`, `/health`, `/ready` endpoints (`Server`).

use alerting_axum::Server;
use alerting_core::config::ConfigLoader;
use alerting_core::{MainError, Observability};
use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Order {
    id: u64,
    item: String,
}

async fn list() -> Json<Vec<Order>> {
    Json(vec![Order {
        id: 1,
        item: "tea".into(),
    }])
}

async fn one(Path(id): Path<u64>) -> Json<Order> {
    Json(Order {
        id,
        item: "tea".into(),
    })
}

#[tokio::main]
async fn main() -> Result<(), MainError> {
    let config = ConfigLoader::new().env_prefix("ORDERS").load()?;
    let obs = Observability::builder("orders")
        .version(env!("CARGO_PKG_VERSION"))
        .config(&config)
        .start()?;
    let api = Router::new()
        .route("/orders", get(list))
        .route("/orders/{id}", get(one));
    Server::new(&obs)
        .api("127.0.0.1:8080".parse()?, api)
        .run()
        .await?;
    Ok(())
}
