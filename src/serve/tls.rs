//! https for `serve`: the certificate and its key read from PEM files (as the user running
//! gputop), checked to belong together, and read again on SIGHUP so a renewed certificate
//! needs no restart. A reload that fails keeps the certificate being served.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The certificate being served, which SIGHUP replaces.
#[derive(Debug)]
pub struct Reloading {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Reloading {
    /// The files read and checked; an error is one line naming the file and why.
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, String> {
        let current = RwLock::new(certified_key(&files)?);
        Ok(Arc::new(Self { files, current }))
    }

    /// Reads the files again; on an error the previous certificate stays.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = certified_key(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// The TLS acceptor that serves whatever certificate is current: TLS 1.2 and 1.3 with
    /// rustls's safe defaults, HTTP/1.1.
    pub fn acceptor(self: &Arc<Self>) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// The chain in the certificate file and the key in the key file, checked to match.
fn certified_key(files: &TlsFiles) -> Result<Arc<CertifiedKey>, String> {
    let (cert_path, key_path) = (files.cert.display(), files.key.display());
    let cert_pem = read(&files.cert, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the TLS certificate {cert_path} is not valid PEM: {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "the TLS certificate {cert_path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    let key_pem = read(&files.key, "key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => {
            format!("the TLS key {key_path} holds no PEM private key (-----BEGIN PRIVATE KEY-----)")
        }
        e => format!("the TLS key {key_path} is not valid PEM: {e}"),
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            format!("the TLS key {key_path} is not the key of the certificate {cert_path}")
        }
        rustls::Error::General(why) => {
            format!("the TLS key {key_path} cannot be used: {why}")
        }
        e => format!("the TLS certificate {cert_path} cannot be used: {e}"),
    })?;
    Ok(Arc::new(certified))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    crate::small_file::read(path)
        .map_err(|e| format!("cannot read the TLS {what} {}: {e}", path.display()))
}

/// A warning when users other than gputop's can read the key file. A warning, not a refusal,
/// as for token files: the key may sit in a directory they cannot enter (a Kubernetes
/// secret's default mode is 0644), which this check cannot see.
pub fn key_warning(path: &Path) -> Option<String> {
    let world_readable = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0);
    world_readable.then(|| {
        format!(
            "gputop: warning: the TLS key {} can be read by every user: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(cert: &str, key: &str) -> (tempfile::TempDir, TlsFiles) {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles { cert: dir.path().join("cert.pem"), key: dir.path().join("key.pem") };
        std::fs::write(&files.cert, cert).unwrap();
        std::fs::write(&files.key, key).unwrap();
        (dir, files)
    }

    #[test]
    fn bad_files_are_one_line_naming_the_file() {
        let (_dir, f) = files("hello\n", "");
        let err = Reloading::load(f.clone()).unwrap_err();
        assert!(err.contains("holds no PEM certificate") && err.contains("cert.pem"), "{err}");
        let missing = TlsFiles { cert: "/nonexistent/c.pem".into(), key: f.key.clone() };
        let err = Reloading::load(missing).unwrap_err();
        assert!(err.starts_with("cannot read the TLS certificate /nonexistent/c.pem"), "{err}");
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let (_dir, f) = files(garbled, "no key here\n");
        let err = Reloading::load(f).unwrap_err();
        assert!(err.contains("holds no PEM private key") && err.contains("key.pem"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn a_world_readable_key_is_warned_about() {
        let (_dir, f) = files("", "");
        std::fs::set_permissions(&f.key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(key_warning(&f.key), None);
        std::fs::set_permissions(&f.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(key_warning(&f.key).unwrap().contains("chmod 600"));
    }
}
