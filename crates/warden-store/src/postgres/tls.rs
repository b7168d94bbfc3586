//! TLS to the PostgreSQL server, with rustls.
//!
//! Design choice: every mode that encrypts also verifies. libpq's `sslmode=require` encrypts
//! without checking who answers, which an attacker on the path can answer for; here `require`
//! and `verify-ca` check the server's chain against the roots, and `verify-full` checks its
//! name as well. A connection that asked for TLS never falls back to plain TCP.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::StoreError;

/// How warden reaches the server: plain, or over TLS that is always verified.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PostgresTls {
    /// Plain TCP or a local socket (`sslmode=disable`, or no `sslmode`).
    #[default]
    Off,
    /// TLS, required.
    Verified {
        /// Whether the certificate must also name the host connected to (`verify-full`).
        name: NameCheck,
        roots: TlsRoots,
        /// A client certificate and its key (`sslcert`, `sslkey`).
        client: Option<ClientCertificate>,
    },
}

/// Whether the server's certificate must name the host warden connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameCheck {
    /// `require` and `verify-ca`: the chain is checked, not the name.
    ChainOnly,
    /// `verify-full`: the chain and the name.
    ChainAndName,
}

/// The certificates that may vouch for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsRoots {
    /// The operating system's store (`sslrootcert=system`, or no `sslrootcert`).
    System,
    /// A PEM bundle (`sslrootcert=PATH`).
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

fn setup(message: String) -> StoreError {
    StoreError::Setup(message)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            setup(format!(
                "cannot read certificates from `{}`: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(setup(format!("`{}` holds no certificate", path.display())));
    }
    Ok(certs)
}

fn roots(roots: &TlsRoots) -> Result<RootCertStore, StoreError> {
    let mut store = RootCertStore::empty();
    match roots {
        TlsRoots::File(path) => {
            for cert in read_certs(path)? {
                store.add(cert).map_err(|e| {
                    setup(format!(
                        "`{}` holds an unusable certificate: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        TlsRoots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(setup(
                    "no system root certificate could be loaded: name the server's CA with \
                     `sslrootcert=PATH` in `store.url`"
                        .into(),
                ));
            }
        }
    }
    Ok(store)
}

/// The client configuration for `tls`. For a plain connection it trusts nothing; the client
/// never calls it then (`sslmode=disable`).
pub(super) fn client_config(tls: &PostgresTls) -> Result<ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let PostgresTls::Verified {
        name,
        roots: wanted,
        client,
    } = tls
    else {
        return Ok(ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(format!("cannot set up TLS: {e}")))?
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth());
    };
    let roots = Arc::new(roots(wanted)?);
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| setup(format!("cannot set up certificate checks: {e}")))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(format!("cannot set up TLS: {e}")))?;
    let builder = match name {
        NameCheck::ChainAndName => builder.with_webpki_verifier(verifier),
        NameCheck::ChainOnly => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier))),
    };
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(c) => {
            let chain = read_certs(&c.cert_file)?;
            let key = PrivateKeyDer::from_pem_file(&c.key_file).map_err(|e| {
                setup(format!(
                    "cannot read a private key from `{}`: {e}",
                    c.key_file.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                setup(format!(
                    "`{}` and `{}` are not a certificate and its key: {e}",
                    c.cert_file.display(),
                    c.key_file.display()
                ))
            })?
        }
    };
    Ok(config)
}

/// Checks the chain as webpki does and accepts a certificate for another name: what
/// `verify-ca` promises. The name is checked last, after the chain, so a name mismatch is
/// reported only for a chain that verified.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
