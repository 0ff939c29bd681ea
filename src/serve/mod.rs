//! `gputop serve`: a Prometheus exporter. Sampling runs on its own interval; each sample is
//! rendered once into the exposition text and the JSON document, and scrapes only copy those
//! out, so no scrape ever waits on NVML and a hundred scrapes cost what one does.

pub mod metrics;
pub mod token;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::output::json;
use crate::poller::Poller;
use crate::source::{Source, WithHostUsage};
use crate::Error;
use metrics::{render, MetricsOptions};

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub interval: Duration,
    pub metrics: MetricsOptions,
    /// Required as `Authorization: Bearer TOKEN` when set.
    pub token: Option<String>,
    /// `--record PATH`: every sample written there too.
    pub recorder: Option<crate::mode::record::Recorder>,
}

/// What a scrape returns, rendered once per sample.
#[derive(Default)]
struct Rendered {
    /// Prometheus text format 0.0.4, for clients that ask for nothing else.
    metrics: String,
    openmetrics: String,
    snapshot_json: String,
}

#[derive(Clone)]
struct AppState {
    latest: watch::Receiver<Arc<Rendered>>,
    token: Option<Arc<str>>,
}

pub fn run(source: Box<dyn Source>, opts: ServeOptions) -> Result<(), Error> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = runtime.block_on(serve(source, opts));
    runtime.shutdown_background();
    result
}

async fn serve(source: Box<dyn Source>, opts: ServeOptions) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", opts.listen)))?;
    let (tx, latest) = watch::channel(Arc::new(Rendered::default()));
    // This host's CPU and memory go into the snapshot, for `--remote` to show.
    let mut poller = Poller::spawn(WithHostUsage::wrap(source), opts.interval);
    let metrics_opts = opts.metrics;
    let mut recorder = opts.recorder;
    tokio::spawn(async move {
        while let Some(polled) = poller.next().await {
            if let Ok(snapshot) = polled {
                if let Some(r) = recorder.as_mut() {
                    // A few milliseconds of SQLite per sample, off the threads serving scrapes.
                    tokio::task::block_in_place(|| r.write(&snapshot));
                }
                let openmetrics = render(&snapshot, &metrics_opts);
                let rendered = Rendered {
                    metrics: metrics::classic_text(&openmetrics),
                    openmetrics,
                    snapshot_json: json::line(&snapshot),
                };
                if tx.send(Arc::new(rendered)).is_err() {
                    return;
                }
            }
        }
    });
    let has_token = opts.token.is_some();
    let state = AppState { latest, token: opts.token.map(Arc::from) };
    let app = router(state);
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() && !has_token {
        eprintln!(
            "gputop: warning: listening on {local} without a token: anyone who can reach this port reads the metrics and the process list (add --token-file FILE)"
        );
    }
    eprintln!("gputop: serving metrics on http://{local}/metrics");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = accept_loop(listener, app) => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// How long a client may take to send its request headers: a slow or silent client is
/// disconnected instead of holding a connection forever.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves each connection with HTTP/1.1 and a header read timeout (axum::serve sets none).
async fn accept_loop(listener: tokio::net::TcpListener, app: Router) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/api/v1/snapshot", get(snapshot_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

/// With a token, every path but /healthz needs `Authorization: Bearer TOKEN`.
async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let ok = given
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
        if !ok && request.uri().path() != "/healthz" {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "unauthorized\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn metrics_handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let rendered = state.latest.borrow().clone();
    if rendered.metrics.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no sample yet\n").into_response();
    }
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let (content_type, body) = if openmetrics {
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", &rendered.openmetrics)
    } else {
        ("text/plain; version=0.0.4; charset=utf-8", &rendered.metrics)
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body.clone()).into_response()
}

async fn snapshot_handler(State(state): State<AppState>) -> Response {
    let rendered = state.latest.borrow().clone();
    if rendered.snapshot_json.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no sample yet\n").into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], rendered.snapshot_json.clone()).into_response()
}
