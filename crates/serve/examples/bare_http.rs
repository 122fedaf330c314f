//! The ceiling for `bench/serving`: the same HTTP stack as `lathe serve`
//! (axum on tokio, TCP_NODELAY) answering `POST /invocations` with a
//! constant, so the benchmark can say how much of this machine's HTTP
//! throughput lathe's scoring leaves on the table.
//!
//! `cargo run --release -p lathe-serve --example bare_http -- 127.0.0.1:5060`

use axum::{routing::post, serve::ListenerExt, Router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:5060".into());
    let app = Router::new().route(
        "/invocations",
        post(|_body: axum::body::Bytes| async { r#"{"predictions": [0.5]}"# }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
