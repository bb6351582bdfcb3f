//! The one list of names that mark a value as a credential, shared by the HTTP
//! transport's scrubber and sensitive-header check and by the sandbox's request log.

/// Words that mark a header, query, form or JSON key as holding a credential,
/// lowercase: a name *containing* any of them (ASCII case-insensitively) is one
/// (`X-Auth-Token`, `client_secret`, `Proxy-Authorization`, `apiKey`, `Set-Cookie`).
///
/// Used by error scrubbing (`"access_token": "…"` in a body), by the client's
/// sensitive-header check (a credential passed as a plain header) and by the
/// sandbox's request log (`Debug` of a logged request).
pub const CREDENTIAL_NAMES: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "cookie",
    "credential",
    "auth",
    "session",
    "bearer",
];

/// Whether `name` contains one of [`CREDENTIAL_NAMES`], ignoring ASCII case.
pub fn is_credential_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    CREDENTIAL_NAMES.iter().any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_lowercase_and_names_match_in_any_case() {
        for word in CREDENTIAL_NAMES {
            assert_eq!(*word, word.to_ascii_lowercase());
            assert!(is_credential_name(&word.to_ascii_uppercase()), "{word}");
            assert!(is_credential_name(&format!("x-{word}-id")), "{word}");
        }
        for name in ["content-type", "accept", "user-agent", "targettenantid"] {
            assert!(!is_credential_name(name), "{name}");
        }
    }
}
