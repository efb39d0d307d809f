//! Build cost, project (c): the same two routes with plain axum, tokio and
//! tracing-subscriber: logging set up and graceful shutdown on Ctrl-C by
//! hand, no metrics.

use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

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

async fn shutdown_signal() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::error!(%error, "cannot listen for Ctrl-C");
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let api = Router::new()
        .route("/orders", get(list))
        .route("/orders/{id}", get(one));
    let listener = TcpListener::bind("127.0.0.1:8080").await?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    axum::serve(listener, api)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
