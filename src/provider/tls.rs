//! TLS for the url provider, as libpq reads it. Managed servers (RDS, Cloud SQL, Supabase, Neon)
//! require TLS. tokio-postgres knows `sslmode` disable, prefer and require only, and never checks
//! a certificate itself: dbgate takes libpq's `sslmode` and `sslrootcert` out of the URL (or
//! `PGSSLMODE`, `PGSSLROOTCERT`), hands tokio-postgres the mode it knows, and checks the server's
//! certificate with rustls as libpq would: not at all for `prefer` and `require` (unless a root
//! certificate is given: libpq's `require` then acts as `verify-ca`), the chain for `verify-ca`,
//! the chain and the host name for `verify-full`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as DriverMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// Taken as `prefer` (tokio-postgres cannot try without TLS first).
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, TlsError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(TlsError::BadMode(other.to_string())),
        })
    }
}

/// Where the certificates that sign a server's come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCertificates {
    /// `sslrootcert=system`: the operating system's trusted roots.
    System,
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("sslmode {0:?} is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    BadMode(String),
    #[error("cannot read the root certificates in {path}: {message}")]
    RootCertificates { path: PathBuf, message: String },
    #[error(
        "no root certificate to verify the server with: set sslrootcert=<file> (or sslrootcert=system) in the URL, or sslmode=require"
    )]
    NoRoots,
}

/// The TLS a connection string asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root: Option<RootCertificates>,
}

impl TlsSettings {
    /// Takes `sslmode` and `sslrootcert` out of `url` (a `postgres://` URI or `key=value`
    /// pairs); what the URL does not say comes from `PGSSLMODE` and `PGSSLROOTCERT`, as libpq
    /// has it. Returns the URL without them.
    pub fn take_from(url: &str) -> Result<(String, TlsSettings), TlsError> {
        let (rest, found) = take_options(url, &["sslmode", "sslrootcert"]);
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        let mode = found[0].clone().or_else(|| env("PGSSLMODE"));
        let root = found[1].clone().or_else(|| env("PGSSLROOTCERT"));
        let settings = TlsSettings {
            mode: match mode {
                Some(mode) => SslMode::parse(&mode)?,
                None => SslMode::Prefer,
            },
            root: root.map(|r| {
                if r == "system" {
                    RootCertificates::System
                } else {
                    RootCertificates::File(PathBuf::from(r))
                }
            }),
        };
        Ok((rest, settings))
    }

    /// No TLS (a unix socket).
    pub fn none() -> TlsSettings {
        TlsSettings {
            mode: SslMode::Disable,
            root: None,
        }
    }

    /// How the connection is protected, for the run's header: nothing for the default.
    pub fn said(&self) -> String {
        let mode = match self.mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => return String::new(),
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        };
        format!(" (TLS, sslmode={mode})")
    }

    /// The mode tokio-postgres is given.
    pub fn driver_mode(&self) -> DriverMode {
        match self.mode {
            SslMode::Disable => DriverMode::Disable,
            SslMode::Allow | SslMode::Prefer => DriverMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverMode::Require,
        }
    }

    /// The connector, or none for `disable`.
    pub fn connector(&self) -> Result<Option<MakeRustlsConnect>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let root = self.root.clone().or_else(default_root_file);
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, &root) {
            (SslMode::Disable, _) => return Ok(None),
            (SslMode::Allow | SslMode::Prefer, _) | (SslMode::Require, None) => Arc::new(NoVerification(provider.clone())),
            (SslMode::Require | SslMode::VerifyCa, Some(root)) => Arc::new(ChainOnly(webpki(root, &provider)?)),
            (SslMode::VerifyCa, None) | (SslMode::VerifyFull, None) => webpki(&RootCertificates::System, &provider)?,
            (SslMode::VerifyFull, Some(root)) => webpki(root, &provider)?,
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(MakeRustlsConnect::new(config)))
    }
}

/// libpq's default root file, when it exists: `~/.postgresql/root.crt`.
fn default_root_file() -> Option<RootCertificates> {
    let home = std::env::var_os("HOME")?;
    let file = Path::new(&home).join(".postgresql/root.crt");
    file.is_file().then_some(RootCertificates::File(file))
}

fn webpki(root: &RootCertificates, provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    let mut store = RootCertStore::empty();
    match root {
        RootCertificates::System => {
            for certificate in rustls_native_certs::load_native_certs().certs {
                // A root the platform lists that rustls cannot use is skipped, as browsers do.
                let _ = store.add(certificate);
            }
        }
        RootCertificates::File(path) => {
            let unreadable = |message: String| TlsError::RootCertificates {
                path: path.clone(),
                message,
            };
            let certificates: Vec<CertificateDer> = CertificateDer::pem_file_iter(path)
                .map_err(|e| unreadable(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| unreadable(e.to_string()))?;
            if certificates.is_empty() {
                return Err(unreadable("no PEM certificate in it".to_string()));
            }
            for certificate in certificates {
                store.add(certificate).map_err(|e| unreadable(e.to_string()))?;
            }
        }
    }
    if store.is_empty() {
        return Err(TlsError::NoRoots);
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| TlsError::RootCertificates {
            path: PathBuf::from("(system)"),
            message: e.to_string(),
        })
}

/// `prefer`, `require`: encrypted, the certificate not checked (the handshake still proves the
/// server holds the certificate's key).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain to a trusted root, whatever name the certificate is for.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
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

/// `url` without the options named `keys`, and their values (the last one given wins, as in
/// libpq). A URI's options are its query parameters (percent-decoded); otherwise the string is
/// `key=value` pairs, a value possibly in single quotes with backslash escapes.
fn take_options(url: &str, keys: &[&str]) -> (String, Vec<Option<String>>) {
    let mut found: Vec<Option<String>> = vec![None; keys.len()];
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), found);
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match keys.iter().position(|k| *k == key) {
                Some(index) => found[index] = Some(percent_decode(value)),
                None => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (rest, found);
    }
    let mut rest = String::new();
    let mut chars = url.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut key = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_some_and(|(_, c)| *c == '=') {
            chars.next();
        }
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|(_, c)| *c == '\'') {
            chars.next();
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        let end = chars.peek().map_or(url.len(), |(at, _)| *at);
        match keys.iter().position(|k| *k == key) {
            Some(index) => found[index] = Some(value),
            None => {
                if !rest.is_empty() {
                    rest.push(' ');
                }
                rest.push_str(&url[start..end]);
            }
        }
    }
    (rest, found)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let Some(byte) = std::str::from_utf8(&bytes[index + 1..index + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_tls_options_out_of_either_spelling() {
        let (rest, found) = take_options(
            "postgres://u:p@db.example.com:5432/app?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
            &["sslmode", "sslrootcert"],
        );
        assert_eq!(rest, "postgres://u:p@db.example.com:5432/app?application_name=x");
        assert_eq!(found, [Some("verify-full".to_string()), Some("/tmp/ca.pem".to_string())]);
        let (rest, found) = take_options(
            "host=db port=5432 sslmode = require sslrootcert='/tmp/my ca.pem' user=u",
            &["sslmode", "sslrootcert"],
        );
        assert_eq!(rest, "host=db port=5432 user=u");
        assert_eq!(found, [Some("require".to_string()), Some("/tmp/my ca.pem".to_string())]);
        let (rest, found) = take_options("postgres://localhost/app", &["sslmode"]);
        assert_eq!((rest.as_str(), found), ("postgres://localhost/app", vec![None]));
    }

    #[test]
    fn an_unknown_sslmode_is_an_error_and_modes_map_to_the_drivers() {
        assert!(matches!(SslMode::parse("verify_full"), Err(TlsError::BadMode(_))));
        let settings = |mode| TlsSettings { mode, root: None };
        assert_eq!(settings(SslMode::VerifyCa).driver_mode(), DriverMode::Require);
        assert_eq!(settings(SslMode::Allow).driver_mode(), DriverMode::Prefer);
        assert_eq!(settings(SslMode::Disable).driver_mode(), DriverMode::Disable);
        assert!(settings(SslMode::Disable).connector().unwrap().is_none());
        assert!(settings(SslMode::Require).connector().unwrap().is_some());
    }
}
