//! The client side of https:// (`--remote`, `--hosts`, `--prometheus`): which certificate
//! authorities are trusted, and why a handshake failed, in words a person can act on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{CertificateError, Error as TlsError};
use ureq::tls::{Certificate, PemItem, RootCerts};

use crate::text::sanitize::sanitize;

/// The CA certificates in the PEM file `path`, to trust instead of the system's; `option`
/// names where the path came from (`--remote-ca`), for the error.
pub fn read_roots(path: &Path, option: &str) -> Result<RootCerts, String> {
    let pem = crate::small_file::read(path)
        .map_err(|e| format!("cannot read {option} {}: {e}", path.display()))?;
    let certs = parse_certificates(&pem);
    if certs.is_empty() {
        return Err(format!(
            "{option} {}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(RootCerts::Specific(Arc::new(certs)))
}

fn parse_certificates(pem: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// The system's trusted certificates: the bundle OpenSSL and curl read (`SSL_CERT_FILE`, or
/// the file Debian, Fedora, SUSE and Alpine keep), falling back on the Mozilla roots built in
/// when the system has none (a bare container).
pub fn system_roots() -> RootCerts {
    let candidates = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from).into_iter().chain(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/ca-bundle.pem",
            "/etc/ssl/cert.pem",
        ]
        .map(PathBuf::from),
    );
    for path in candidates {
        if let Ok(pem) = std::fs::read(&path) {
            let certs = parse_certificates(&pem);
            if !certs.is_empty() {
                return RootCerts::Specific(Arc::new(certs));
            }
        }
    }
    RootCerts::WebPki
}

/// An agent that trusts `roots`, answers within `timeout`, and with `status_as_error` turns
/// HTTP errors into `ureq::Error::StatusCode`.
pub fn agent(roots: RootCerts, timeout: std::time::Duration, status_as_error: bool) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(status_as_error)
        .tls_config(tls)
        .build()
        .into()
}

/// Why the TLS handshake behind `e` failed, when it did: `certificate not trusted: unknown
/// issuer`, `… name mismatch`, `… expired on 2020-01-02`, or a host that speaks no TLS;
/// `ca_option` is how to name another CA (`--remote-ca`).
pub fn why_handshake_failed(e: &ureq::Error, ca_option: &str) -> Option<String> {
    let tls = match e {
        ureq::Error::Rustls(tls) => tls,
        // Errors of the handshake reach ureq as the I/O errors rustls wraps them in.
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<TlsError>()?,
        _ => return None,
    };
    let why = match tls {
        TlsError::InvalidCertificate(c) => format!("certificate not trusted: {}", certificate(c, ca_option)),
        TlsError::InvalidMessage(_) => {
            "TLS handshake failed: the host does not speak TLS (if it serves plain http, use http://)"
                .into()
        }
        TlsError::AlertReceived(alert) => format!("TLS handshake failed: the host sent {alert:?}"),
        other => format!("TLS handshake failed: {other}"),
    };
    // The names come from the host's certificate: not to reach a terminal raw.
    Some(sanitize(&why).into_owned())
}

fn certificate(e: &CertificateError, ca_option: &str) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            format!("unknown issuer (not signed by a CA this machine trusts: name its CA with {ca_option})")
        }
        CertificateError::NotValidForName => "name mismatch (it is for another host name)".into(),
        CertificateError::NotValidForNameContext { expected, presented } => format!(
            "name mismatch: it is for {}, not {}",
            if presented.is_empty() {
                "no name".into()
            } else {
                presented.iter().map(|p| bare_name(p)).collect::<Vec<_>>().join(", ")
            },
            expected.to_str()
        ),
        CertificateError::Expired => "expired".into(),
        CertificateError::ExpiredContext { not_after, .. } => {
            format!("expired on {}", date(not_after.as_secs()))
        }
        CertificateError::NotValidYet => "not valid yet (is this machine's clock right?)".into(),
        CertificateError::NotValidYetContext { not_before, .. } => {
            format!(
                "not valid before {} (is this machine's clock right?)",
                date(not_before.as_secs())
            )
        }
        CertificateError::Revoked => "revoked".into(),
        CertificateError::BadSignature => "bad signature".into(),
        CertificateError::BadEncoding => "not a valid certificate".into(),
        other => format!("{other:?}"),
    }
}

/// `DnsName("gpu1")` → `gpu1`, `IpAddress(10.0.0.1)` → `10.0.0.1`: the names as people
/// write them.
fn bare_name(presented: &str) -> &str {
    match presented.split_once('(') {
        Some((_, inner)) => inner.trim_end_matches(')').trim_matches('"'),
        None => presented,
    }
}

fn date(unix_seconds: u64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds as i64, 0).map_or_else(
        || format!("{unix_seconds} s after 1970"),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_an_error_naming_it() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), "not pem\n").unwrap();
        let err = read_roots(f.path(), "--remote-ca").unwrap_err();
        assert!(err.starts_with("--remote-ca ") && err.contains("no PEM certificate"), "{err}");
        let err = read_roots(Path::new("/nonexistent/ca.pem"), "--remote-ca").unwrap_err();
        assert!(err.contains("cannot read --remote-ca /nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn certificate_failures_say_which() {
        let io =
            |e: TlsError| ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        let unknown = io(TlsError::InvalidCertificate(CertificateError::UnknownIssuer));
        let why = why_handshake_failed(&unknown, "--remote-ca").unwrap();
        assert!(why.ends_with("name its CA with --remote-ca)"), "{why}");
        assert!(why.starts_with("certificate not trusted: unknown issuer"), "{why}");
        let expired = CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1_800_000_000,
            )),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(1_577_923_200),
            ),
        };
        let why = why_handshake_failed(&io(TlsError::InvalidCertificate(expired)), "").unwrap();
        assert_eq!(why, "certificate not trusted: expired on 2020-01-02 00:00 UTC");
        assert_eq!(why_handshake_failed(&ureq::Error::ConnectionFailed, ""), None);
        assert_eq!(bare_name("DnsName(\"gpu1\")"), "gpu1");
        assert_eq!(bare_name("IpAddress(10.0.0.1)"), "10.0.0.1");
    }
}
