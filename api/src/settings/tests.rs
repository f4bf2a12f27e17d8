//! Settings: defaults, sources, and refusals that name their variable.
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    // Keep tests away from the working directory's development key; the
    // case's own variables come last and win.
    let mut v = vec![
        (
            "COPLANE_JWT_SECRET".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
        (
            "COPLANE_KUBE_TARGET".to_owned(),
            "manifests:/tmp/coplane-test-manifests".to_owned(),
        ),
    ];
    v.extend(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    v
}

fn error_of(pairs: &[(&str, &str)]) -> String {
    Settings::from_sources(None, env(pairs))
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_to_embedded_sqlite_and_localhost() {
    let s = Settings::from_sources(None, env(&[])).unwrap();
    assert!(s.database.is_default && s.database.is_sqlite());
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.worker.concurrency, 4);
}

#[test]
fn environment_overrides_the_file() {
    let file = "listen = \"0.0.0.0:9000\"\nworker_concurrency = 8\n";
    let s = Settings::from_sources(
        Some((Path::new("c.toml"), file)),
        env(&[("COPLANE_LISTEN", "127.0.0.1:9999")]),
    )
    .unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(s.worker.concurrency, 8);
}

#[test]
fn bad_values_name_their_variable() {
    assert!(
        error_of(&[("COPLANE_LISTEN", "nowhere")])
            .contains("COPLANE_LISTEN: `nowhere` is not an address")
    );
    assert!(error_of(&[("COPLANE_DATABASE_URL", "mysql://x")]).contains("COPLANE_DATABASE_URL"));
    assert!(error_of(&[("COPLANE_KUBE_TARGET", "cluster")]).contains("COPLANE_KUBE_TARGET"));
    assert!(
        error_of(&[("COPLANE_WORKER_CONCURRENCY", "0")]).contains("COPLANE_WORKER_CONCURRENCY")
    );
    assert!(error_of(&[("COPLANE_JOB_LEASE", "soon")]).contains("COPLANE_JOB_LEASE"));
    assert!(error_of(&[("COPLANE_JOB_LEASE", "0s")]).contains("out of range"));
    assert!(error_of(&[("COPLANE_JOB_LEASE", "100000000d")]).contains("out of range"));
    assert!(error_of(&[("COPLANE_JOB_POLL_INTERVAL", "0")]).contains("COPLANE_JOB_POLL_INTERVAL"));
    assert!(error_of(&[("COPLANE_SMTP_URL", "gopher://x")]).contains("COPLANE_SMTP_URL"));
    assert!(
        error_of(&[("COPLANE_STRIPE_API_BASE", "ftp://x")]).contains("COPLANE_STRIPE_API_BASE")
    );
    assert!(
        error_of(&[("COPLANE_JWT_JWKS_URL", "https://idp/jwks")]).contains("COPLANE_JWT_JWKS_URL")
    );
}

#[test]
fn jwks_needs_issuer_and_audience_and_an_asymmetric_algorithm() {
    let base = [("COPLANE_JWT_JWKS_URL", "https://idp.example/jwks")];
    let no_secret = |pairs: &[(&str, &str)]| {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Settings::from_sources(None, v)
    };
    assert!(
        no_secret(&base)
            .unwrap_err()
            .to_string()
            .contains("COPLANE_JWT_ISSUER")
    );
    let full = [
        base[0],
        ("COPLANE_JWT_ISSUER", "https://idp.example"),
        ("COPLANE_JWT_AUDIENCE", "coplane"),
        ("COPLANE_KUBE_TARGET", "kubeconfig"),
    ];
    assert!(matches!(
        no_secret(&full).unwrap().jwt,
        JwtSettings::Jwks {
            algorithm: Algorithm::RS256,
            ..
        }
    ));
    let mut hs = full.to_vec();
    hs.push(("COPLANE_JWT_ALGORITHM", "HS256"));
    assert!(
        no_secret(&hs)
            .unwrap_err()
            .to_string()
            .contains("COPLANE_JWT_ALGORITHM")
    );
}

#[test]
fn a_short_secret_is_refused() {
    let v = vec![("COPLANE_JWT_SECRET".to_owned(), "short".to_owned())];
    assert!(
        Settings::from_sources(None, v)
            .unwrap_err()
            .to_string()
            .contains("at least 32 bytes")
    );
}

#[test]
fn unknown_file_keys_are_refused() {
    let e = Settings::from_sources(Some((Path::new("c.toml"), "databse_url = \"x\"")), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown key `databse_url`"), "{e}");
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
    assert!(parse_duration("1w").is_err());
    assert!(parse_duration("").is_err());
}

#[test]
fn the_readme_documents_every_setting() {
    let readme = include_str!("../../../README.md");
    for key in KEYS {
        assert!(
            readme.contains(&format!("`{}`", env_name(key))),
            "README lacks {}",
            env_name(key)
        );
    }
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
}

#[test]
fn an_empty_variable_is_unset_and_keeps_the_files_value() {
    let file = "listen = \"127.0.0.1:9100\"\n";
    let s = Settings::from_sources(
        Some((Path::new("c.toml"), file)),
        env(&[("COPLANE_LISTEN", "")]),
    )
    .unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:9100");
    let e = Settings::from_sources(Some((Path::new("c.toml"), "listen = \"\"")), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`listen` is empty"), "{e}");
}

#[test]
fn a_bad_algorithm_or_template_directory_stops_the_start() {
    let dev = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = vec![(
            "COPLANE_DEV_KEY_FILE".into(),
            std::env::temp_dir()
                .join("coplane-settings-test.key")
                .display()
                .to_string(),
        )];
        v.push((
            "COPLANE_KUBE_TARGET".into(),
            "manifests:/tmp/coplane-test-manifests".into(),
        ));
        v.extend(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        Settings::from_sources(None, v)
    };
    let e = dev(&[("COPLANE_JWT_ALGORITHM", "bogus")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("COPLANE_JWT_ALGORITHM"), "{e}");
    let e = error_of(&[("COPLANE_MAIL_TEMPLATES", "/nonexistent")]);
    assert!(e.contains("COPLANE_MAIL_TEMPLATES"), "{e}");
}

#[test]
fn clusters_are_named_with_their_targets() {
    let v = vec![
        (
            "COPLANE_JWT_SECRET".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
        (
            "COPLANE_KUBE_CLUSTERS".to_owned(),
            "eu1=manifests:/tmp/a, eu2=context:prod".to_owned(),
        ),
    ];
    let s = Settings::from_sources(None, v).unwrap();
    let names: Vec<&str> = s.kube.clusters.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["eu1", "eu2"]);
    assert!(error_of(&[("COPLANE_KUBE_CLUSTERS", "eu1=manifests:/a")]).contains("not both"));
    let v = vec![
        (
            "COPLANE_JWT_SECRET".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
        (
            "COPLANE_KUBE_CLUSTERS".to_owned(),
            "eu1=x,eu1=kubeconfig".to_owned(),
        ),
    ];
    assert!(
        Settings::from_sources(None, v)
            .unwrap_err()
            .to_string()
            .contains("COPLANE_KUBE_CLUSTERS")
    );
}

#[test]
fn a_token_never_creates_a_development_key() {
    let dir = std::env::temp_dir().join(format!("coplane-token-{}", std::process::id()));
    let key = dir.join("missing.key");
    let v = vec![
        ("COPLANE_DEV_KEY_FILE".to_owned(), key.display().to_string()),
        (
            "COPLANE_KUBE_TARGET".to_owned(),
            "manifests:/tmp/x".to_owned(),
        ),
    ];
    let e = Settings::from_sources_with(None, v, DevKey::MustExist)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no development key at") && e.contains("missing.key"),
        "{e}"
    );
    assert!(!key.exists());
}
