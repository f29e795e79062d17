//! `latchkey keys generate`: a new signing key in files with safe modes, and the settings that
//! use it, so rotating keys needs no openssl recipe.

use std::{
    fs::{self, OpenOptions},
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

use base64::Engine;
use rand::RngCore;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

/// The algorithms a key can be made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algorithm {
    #[value(name = "HS256")]
    Hs256,
    #[value(name = "EdDSA")]
    EdDsa,
    #[value(name = "RS256")]
    Rs256,
}

/// RSA modulus size: NIST's minimum through 2030, and what RS256 verifiers expect.
const RSA_BITS: usize = 2048;

/// Ed25519 keys in PKCS#8 (RFC 8410): this prefix, then the 32-byte seed...
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// ...and public keys in SubjectPublicKeyInfo: this prefix, then the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Writes the key files into `dir` (private ones mode 0600, never over an existing file) and
/// returns what to tell the operator: the environment lines, then how to rotate.
///
/// # Errors
/// The file that could not be written, or a key that could not be made.
pub fn generate(algorithm: Algorithm, dir: &Path) -> Result<Vec<String>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = |name: &str| dir.join(format!("{name}-{stamp}"));
    match algorithm {
        Algorithm::Hs256 => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let secret = path("jwt-hs256").with_extension("secret");
            write(&secret, hex::encode(bytes).as_bytes(), 0o600)?;
            Ok(vec![
                "JWT_ALGORITHM=HS256".to_string(),
                format!("JWT_SECRET_FILE={}", absolute(&secret)),
                "# To rotate: add the old secret to JWT_PREVIOUS_SECRETS until its tokens expire."
                    .to_string(),
            ])
        }
        Algorithm::EdDsa => {
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
                .map_err(|e| format!("cannot make an Ed25519 key: {e}"))?;
            let public = ring::signature::KeyPair::public_key(&pair)
                .as_ref()
                .to_vec();
            let private_der = [&ED25519_PKCS8_PREFIX[..], &seed].concat();
            let public_der = [&ED25519_SPKI_PREFIX[..], &public].concat();
            pair_files(
                "EdDSA",
                &path("jwt-ed25519"),
                &pem("PRIVATE KEY", &private_der),
                &pem("PUBLIC KEY", &public_der),
            )
        }
        Algorithm::Rs256 => {
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
                .map_err(|e| format!("cannot make an RSA key: {e}"))?;
            let private = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| format!("cannot encode the RSA key: {e}"))?;
            let public = key
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| format!("cannot encode the RSA key: {e}"))?;
            pair_files("RS256", &path("jwt-rs256"), &private, &public)
        }
    }
}

fn pair_files(
    algorithm: &str,
    base: &Path,
    private: &str,
    public: &str,
) -> Result<Vec<String>, String> {
    let private_path = base.with_extension("pem");
    let public_path = base.with_extension("pub.pem");
    write(&private_path, private.as_bytes(), 0o600)?;
    write(&public_path, public.as_bytes(), 0o644)?;
    Ok(vec![
        format!("JWT_ALGORITHM={algorithm}"),
        format!("JWT_PRIVATE_KEY_FILE={}", absolute(&private_path)),
        format!("JWT_PUBLIC_KEY_FILE={}", absolute(&public_path)),
        "# To rotate: add the old public key file to JWT_PREVIOUS_PUBLIC_KEY_FILES until its tokens expire."
            .to_string(),
    ])
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(chunk));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn write(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(contents)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
