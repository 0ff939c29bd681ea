//! `gputop serve`: a Prometheus exporter. Sampling runs on its own interval; each sample is
//! rendered once into the exposition text and the JSON document, and scrapes only copy those
//! out, so no scrape ever waits on NVML and a hundred scrapes cost what one does.

pub mod metrics;
pub mod tls;
pub mod token;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::signal::unix::Signal;
use tokio::sync::watch;

use crate::metric_names::STALE_HEADER;
use crate::output::json;
use crate::poller::Poller;
use crate::record::recorder::{RecordOptions, Recorder};
use crate::sample::Snapshot;
use crate::source::{Source, SourcePlan};
use crate::Error;
use metrics::{render, Freshness, MetricsOptions};

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub interval: Duration,
    pub metrics: MetricsOptions,
    /// Required as `Authorization: Bearer TOKEN` when set.
    pub token: Option<String>,
    /// `--tls-cert`/`--tls-key`: https instead of http.
    pub tls: Option<Arc<tls::Reloading>>,
    /// `--record PATH`: every sample written there too.
    pub record: Option<RecordOptions>,
    /// /healthz fails once the last complete sample is older than this.
    pub stale_after: Duration,
}

/// What a scrape returns, rendered once per sample.
#[derive(Default)]
struct Rendered {
    /// Prometheus text format 0.0.4, for clients that ask for nothing else.
    metrics: String,
    openmetrics: String,
    snapshot_json: String,
    /// When the sample rendered here completed; `None` before the first.
    sampled: Option<Instant>,
}

#[derive(Clone)]
struct AppState {
    latest: watch::Receiver<Arc<Rendered>>,
    token: Option<Arc<str>>,
    started: Instant,
    stale_after: Duration,
}

impl AppState {
    /// How old the last complete sample (or the start, before the first) is, once that is
    /// more than `--stale-after`; `None` while samples come.
    fn stale_age(&self) -> Option<Duration> {
        let age = self.latest.borrow().sampled.unwrap_or(self.started).elapsed();
        (age > self.stale_after).then_some(age)
    }
}

/// Opens the recording (when asked), then the source (with this host's CPU and memory in each
/// snapshot, for `--remote` to show: `SourcePlan::host_usage`), and serves until stopped.
pub fn run(source: &SourcePlan, opts: ServeOptions) -> Result<(), Error> {
    let recorder = match &opts.record {
        Some(r) => {
            let recorder = Recorder::open(&r.out, opts.interval, r.keep_raw, r.keep)?;
            eprintln!(
                "gputop: recording every {}s into {}",
                opts.interval.as_secs_f64(),
                recorder.path().display()
            );
            Some(recorder)
        }
        None => None,
    };
    let source = crate::source::open(source)?.source;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = runtime.block_on(serve(source, opts, recorder));
    runtime.shutdown_background();
    result
}

async fn serve(
    source: Box<dyn Source>,
    opts: ServeOptions,
    recorder: Option<Recorder>,
) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", opts.listen)))?;
    let (tx, latest) = watch::channel(Arc::new(Rendered::default()));
    let mut poller = Poller::spawn(source, opts.interval);
    let metrics_opts = opts.metrics;
    let mut recorder = recorder;
    tokio::spawn(async move {
        // The last complete sample, and how many failed since the start: a failure re-renders
        // the last sample with the new count, so an alert on the count fires.
        let mut last: Option<(Arc<Snapshot>, Instant)> = None;
        let mut freshness = Freshness { last_sample: None, errors: 0 };
        while let Some(polled) = poller.next().await {
            match polled {
                Ok(snapshot) => {
                    if let Some(r) = recorder.as_mut() {
                        // A few milliseconds of SQLite per sample, off the threads serving scrapes.
                        tokio::task::block_in_place(|| r.write(&snapshot));
                    }
                    freshness.last_sample = Some(snapshot.taken_at);
                    last = Some((snapshot, Instant::now()));
                }
                Err(_) => freshness.errors += 1,
            }
            let Some((snapshot, sampled)) = &last else { continue };
            let openmetrics = render(snapshot, &metrics_opts, &freshness);
            let rendered = Rendered {
                metrics: metrics::classic_text(&openmetrics),
                openmetrics,
                snapshot_json: json::line(snapshot),
                sampled: Some(*sampled),
            };
            if tx.send(Arc::new(rendered)).is_err() {
                return;
            }
        }
    });
    let has_token = opts.token.is_some();
    let state = AppState {
        latest,
        token: opts.token.map(Arc::from),
        started: Instant::now(),
        stale_after: opts.stale_after,
    };
    let app = router(state);
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() && !has_token {
        eprintln!(
            "gputop: warning: listening on {local} without a token: anyone who can reach this port reads the metrics and the process list (add --token-file FILE)"
        );
    }
    if !local.ip().is_loopback() && has_token && opts.tls.is_none() {
        eprintln!(
            "gputop: warning: listening on {local} with a token but without TLS: the token crosses the network in clear text (add --tls-cert and --tls-key)"
        );
    }
    let scheme = if opts.tls.is_some() { "https" } else { "http" };
    // Caught before the line that says the server is up: a SIGHUP right after it reloads.
    if let Some(certificate) = &opts.tls {
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(reload_on_hangup(certificate.clone(), hangup));
    }
    eprintln!("gputop: serving metrics on {scheme}://{local}/metrics");
    let acceptor = opts.tls.as_ref().map(tls::Reloading::acceptor);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = accept_loop(listener, app, acceptor) => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// How long a client may take to send its request headers: a slow or silent client is
/// disconnected instead of holding a connection forever.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the certificate and key again on each SIGHUP; a bad pair is one line, and the one
/// being served stays.
async fn reload_on_hangup(certificate: Arc<tls::Reloading>, mut hangup: Signal) {
    while hangup.recv().await.is_some() {
        match certificate.reload() {
            Ok(()) => eprintln!(
                "gputop: reloaded the TLS certificate {}",
                certificate.files().cert.display()
            ),
            Err(e) => eprintln!("gputop: warning: {e}; still serving the previous certificate"),
        }
    }
}

/// Serves each connection with HTTP/1.1 and a header read timeout (axum::serve sets none),
/// inside TLS when there is an acceptor.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else { return serve_http(stream, app).await };
            // The handshake, too, within the time a client has for its headers.
            let handshake = tokio::time::timeout(HEADER_TIMEOUT, async {
                if !starts_tls(&stream).await {
                    refuse_plain_http(stream).await;
                    return None;
                }
                acceptor.accept(stream).await.ok()
            });
            if let Ok(Some(stream)) = handshake.await {
                serve_http(stream, app).await;
            }
        });
    }
}

async fn serve_http<S>(stream: S, app: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let service = hyper_util::service::TowerToHyperService::new(app);
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Whether the client's first byte opens a TLS handshake record (0x16).
async fn starts_tls(stream: &tokio::net::TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1)) && first[0] == 0x16
}

/// A plain http request to the https port: told so in a 400, never served.
async fn refuse_plain_http(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = "this port serves https: use https://\n";
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    // The request read to its end (within the caller's timeout): closing with it unread
    // would reset the connection and lose the answer.
    let mut request = [0u8; 1024];
    while matches!(stream.read(&mut request).await, Ok(1..)) {}
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/api/v1/snapshot", get(snapshot_handler))
        .route("/healthz", get(healthz))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

/// 200 while samples come; 503 with the age once the last complete sample (or the start,
/// before the first) is older than `--stale-after`: a driver call that never returns fails
/// the probe instead of serving old values as if they were new.
async fn healthz(State(state): State<AppState>) -> Response {
    let sampled = state.latest.borrow().sampled;
    let Some(age) = state.stale_age() else {
        return "ok\n".into_response();
    };
    let what =
        if sampled.is_some() { "the last complete sample" } else { "no sample yet: started" };
    let body = format!("stale: {what} {:.0} s ago\n", age.as_secs_f64());
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

/// With a token, every path but /healthz needs `Authorization: Bearer TOKEN`.
async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let ok = given.and_then(bearer_token).is_some_and(|t| same_token(t, token));
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

/// The token of an `Authorization: Bearer TOKEN` header; the scheme's name is
/// case-insensitive (RFC 7235), so `bearer` and `BEARER` count too.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim_start_matches(' '))
}

/// Compared in constant time, so the time of a refusal does not tell how much of a guess was
/// right (only whether its length was).
fn same_token(given: &str, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.as_bytes().ct_eq(token.as_bytes()).into()
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
    let mut response =
        ([(header::CONTENT_TYPE, "application/json")], rendered.snapshot_json.clone())
            .into_response();
    if let Some(age) = state.stale_age() {
        let age = HeaderValue::from(age.as_secs());
        response.headers_mut().insert(STALE_HEADER, age);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
        assert!(same_token("abc", "abc") && !same_token("abd", "abc") && !same_token("ab", "abc"));
    }
}
