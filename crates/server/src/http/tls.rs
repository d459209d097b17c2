//! TLS for the HTTPS listener (rustls with the ring provider; no OpenSSL).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ConfigError;

/// A rustls server configuration from PEM files.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let read_err = |path: &Path, what: &str, e: String| {
        ConfigError::Invalid(format!("server.tls: {what} {}: {e}", path.display()))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| read_err(cert_file, "cannot read the certificate", e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(cert_file, "bad certificate PEM in", e.to_string()))?;
    if certs.is_empty() {
        return Err(read_err(cert_file, "no certificate in", "empty".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| read_err(key_file, "cannot read the private key", e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Invalid(format!("server.tls: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            ConfigError::Invalid(format!("server.tls: certificate and key do not fit: {e}"))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
