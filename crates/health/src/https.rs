//! HTTPS GET check (keepalived `SSL_GET`): a TLS handshake with rustls (ring
//! provider), then the same exchange as the HTTP check.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::TlsConnector;

use crate::check::Progress;
use crate::error::{CheckError, Phase, SetupError};
use crate::http::{self, HttpSpec};

/// TLS settings of an HTTPS check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSpec {
    /// Sent as SNI and, when verifying, the name the certificate must be
    /// valid for. Default: the target's IP address (no SNI is sent, and a
    /// verified certificate needs that IP in its subjectAltName).
    pub server_name: Option<String>,
    pub verify: TlsVerify,
}

/// How the server certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsVerify {
    /// Accept any certificate, as keepalived's `SSL_GET` does by default:
    /// the handshake must still complete, with a valid signature from the
    /// key in the presented certificate.
    #[default]
    Insecure,
    /// Against the operating system's trust store.
    SystemRoots,
    /// Against the CA certificates in a PEM file (e.g. an internal CA).
    CaFile(PathBuf),
}

impl fmt::Display for TlsVerify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsVerify::Insecure => f.write_str("insecure"),
            TlsVerify::SystemRoots => f.write_str("verify"),
            TlsVerify::CaFile(p) => write!(f, "verify with {}", p.display()),
        }
    }
}

pub(crate) struct Prepared {
    http: http::Prepared,
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl Prepared {
    pub(crate) fn new(spec: &HttpSpec, tls: &TlsSpec) -> Result<Self, SetupError> {
        let server_name = match &tls.server_name {
            Some(name) => {
                ServerName::try_from(name.clone()).map_err(|e| SetupError::ServerName {
                    name: name.clone(),
                    reason: e.to_string(),
                })?
            }
            None => ServerName::IpAddress(spec.addr.ip().into()),
        };
        let http = http::Prepared::new(spec, 443, tls.server_name.as_deref())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| SetupError::Tls(e.to_string()))?;
        let builder = match &tls.verify {
            TlsVerify::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))),
            TlsVerify::SystemRoots => builder.with_root_certificates(system_roots()?),
            TlsVerify::CaFile(path) => builder.with_root_certificates(ca_file_roots(path)?),
        };
        let mut config = builder.with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            http,
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("http", &self.http)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

pub(crate) async fn check(p: &Prepared, progress: &Progress) -> Result<(), CheckError> {
    let stream = http::connect(&p.http, progress).await?;
    progress.set(Phase::TlsHandshake);
    let stream = p
        .connector
        .connect(p.server_name.clone(), stream)
        .await
        .map_err(|source| CheckError::Io {
            phase: Phase::TlsHandshake,
            source,
        })?;
    http::exchange(stream, &p.http, progress).await
}

/// The system store is read once per process (about a hundred certificates
/// to parse), not once per target. Only a success is kept, so a store fixed
/// after a failed reload is picked up by the next one.
fn system_roots() -> Result<Arc<RootCertStore>, SetupError> {
    static ROOTS: Mutex<Option<Arc<RootCertStore>>> = Mutex::new(None);
    let mut cached = ROOTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(roots) = cached.as_ref() {
        return Ok(roots.clone());
    }
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = match found.errors.first() {
            Some(e) => format!(": {e}"),
            None => String::new(),
        };
        return Err(SetupError::NoSystemRoots(why));
    }
    let roots = Arc::new(roots);
    *cached = Some(roots.clone());
    Ok(roots)
}

fn ca_file_roots(path: &PathBuf) -> Result<Arc<RootCertStore>, SetupError> {
    let ca_error = |reason: String| SetupError::CaFile {
        path: path.clone(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| ca_error(e.to_string()))? {
        let cert = cert.map_err(|e| ca_error(e.to_string()))?;
        roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(ca_error("no certificate in the file".to_string()));
    }
    Ok(Arc::new(roots))
}

/// Accepts every certificate but still checks the handshake signatures, so
/// the server must hold the key of the certificate it presents.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
