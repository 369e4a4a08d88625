//! Settings resolution: flags, environment and `~/.gc/config.toml` profiles, with an injected
//! environment and a throwaway home directory.

use std::collections::HashMap;
use std::path::Path;

use dactl::config::{ConfigError, Inputs, Settings};
use dactl::genesys::Credentials;

use crate::support::{TempDir, temp_dir};

/// A fresh home directory, optionally with a `.gc/config.toml`; removed when dropped.
struct Home(TempDir);

impl Home {
    fn new(config: Option<&str>) -> Home {
        let dir = temp_dir("config-home");
        std::fs::create_dir_all(dir.join(".gc")).unwrap();
        if let Some(config) = config {
            std::fs::write(dir.join(".gc").join("config.toml"), config).unwrap();
        }
        Home(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

fn resolve(inputs: &Inputs, vars: &[(&str, &str)], home: &Home) -> Result<Settings, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::resolve_with(inputs, &|name| vars.get(name).cloned(), Some(home.path()))
}

fn region(name: &str) -> Inputs {
    Inputs {
        environment: Some(name.into()),
        ..Inputs::default()
    }
}

const PROFILES: &str = r#"
[DEFAULT]
environment = "mypurecloud.ie"
client_credentials = "profile-id"
client_secret = "profile-secret"

[staging]
environment = "usw2.pure.cloud"
access_token = "staging-token"

[broken]
environment = "eu-west-1"
client_credentials = "only-id"
"#;

#[test]
fn env_client_credentials_win_over_the_profile() {
    let home = Home::new(Some(PROFILES));
    let settings = resolve(
        &region("eu-central-1"),
        &[
            ("GENESYSCLOUD_OAUTHCLIENT_ID", "env-id"),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "env-secret"),
        ],
        &home,
    )
    .unwrap();
    let Credentials::ClientCredentials {
        client_id,
        client_secret,
    } = &settings.credentials
    else {
        panic!("{:?}", settings.credentials)
    };
    assert_eq!(
        (client_id.as_str(), client_secret.expose()),
        ("env-id", "env-secret")
    );
    assert_eq!(
        settings.target.api_base.as_str(),
        "https://api.mypurecloud.de/"
    );
    // The settings print without the secret.
    assert!(!format!("{settings:?}").contains("env-secret"));
}

#[test]
fn env_access_token_is_used_when_no_client_credentials() {
    let home = Home::new(None);
    let settings = resolve(
        &Inputs::default(),
        &[
            ("GENESYSCLOUD_ACCESS_TOKEN", "tok"),
            ("GENESYSCLOUD_REGION", "ap_northeast_3"),
        ],
        &home,
    )
    .unwrap();
    assert!(matches!(&settings.credentials, Credentials::AccessToken(t) if t.expose() == "tok"));
    assert_eq!(settings.target.region.as_deref(), Some("ap-northeast-3"));
}

#[test]
fn the_flag_region_wins_over_the_env_region() {
    let home = Home::new(None);
    let vars = [
        ("GENESYSCLOUD_ACCESS_TOKEN", "tok"),
        ("GENESYSCLOUD_REGION", "eu-west-1"),
    ];
    let settings = resolve(&region("us-west-2"), &vars, &home).unwrap();
    assert_eq!(settings.target.region.as_deref(), Some("us-west-2"));
}

#[test]
fn the_default_profile_gives_credentials_and_region() {
    let home = Home::new(Some(PROFILES));
    let settings = resolve(&Inputs::default(), &[], &home).unwrap();
    let Credentials::ClientCredentials {
        client_id,
        client_secret,
    } = &settings.credentials
    else {
        panic!("{:?}", settings.credentials)
    };
    assert_eq!(
        (client_id.as_str(), client_secret.expose()),
        ("profile-id", "profile-secret")
    );
    assert_eq!(settings.target.region.as_deref(), Some("eu-west-1"));
    assert_eq!(settings.rate_per_minute, 300);
    // The Terraform provider's default pool, four requests in flight per token.
    assert_eq!((settings.tokens, settings.concurrency), (10, 40));
}

#[test]
fn a_named_profile_with_an_access_token() {
    let home = Home::new(Some(PROFILES));
    let inputs = Inputs {
        profile: Some("staging".into()),
        ..Inputs::default()
    };
    let settings = resolve(&inputs, &[], &home).unwrap();
    assert!(
        matches!(&settings.credentials, Credentials::AccessToken(t) if t.expose() == "staging-token")
    );
    assert_eq!(
        settings.target.api_base.as_str(),
        "https://api.usw2.pure.cloud/"
    );
}

#[test]
fn missing_credentials_name_every_way_to_give_them() {
    let home = Home::new(None);
    let err = resolve(&region("eu-west-1"), &[], &home).unwrap_err();
    assert!(matches!(err, ConfigError::NoCredentials { .. }), "{err:?}");
    let text = err.to_string();
    for part in [
        "GENESYSCLOUD_OAUTHCLIENT_ID",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        "GENESYSCLOUD_ACCESS_TOKEN",
        ".gc/config.toml",
        "--profile",
        "--sandbox",
        "`DEFAULT`",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
}

#[test]
fn an_unknown_profile_names_the_file_and_the_profiles_present() {
    let home = Home::new(Some(PROFILES));
    let inputs = Inputs {
        profile: Some("prod".into()),
        ..region("eu-west-1")
    };
    let err = resolve(&inputs, &[], &home).unwrap_err();
    let text = err.to_string();
    for part in [
        "`prod`",
        "config.toml",
        "`DEFAULT`",
        "`staging`",
        "`broken`",
        "--profile",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    // Without a file, the message says the file is missing.
    let empty = Home::new(None);
    let text = resolve(&inputs, &[], &empty).unwrap_err().to_string();
    assert!(text.contains("does not exist"), "{text}");
}

#[test]
fn half_env_credentials_say_which_is_missing() {
    let home = Home::new(Some(PROFILES));
    let err = resolve(
        &region("eu-west-1"),
        &[("GENESYSCLOUD_OAUTHCLIENT_ID", "id")],
        &home,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ConfigError::HalfCredentials {
            set: "GENESYSCLOUD_OAUTHCLIENT_ID",
            missing: "GENESYSCLOUD_OAUTHCLIENT_SECRET"
        }
    );
    assert!(
        err.to_string()
            .contains("GENESYSCLOUD_OAUTHCLIENT_SECRET is not"),
        "{err}"
    );
    let err = resolve(
        &region("eu-west-1"),
        &[("GENESYSCLOUD_OAUTHCLIENT_SECRET", "s")],
        &home,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("GENESYSCLOUD_OAUTHCLIENT_ID is not"),
        "{err}"
    );
    assert!(!err.to_string().contains("\"s\""));
}

#[test]
fn a_profile_without_a_secret_says_so() {
    let home = Home::new(Some(PROFILES));
    let inputs = Inputs {
        profile: Some("broken".into()),
        ..Inputs::default()
    };
    let text = resolve(&inputs, &[], &home).unwrap_err().to_string();
    assert!(
        text.contains("`broken`") && text.contains("`client_secret`"),
        "{text}"
    );
}

#[test]
fn no_region_names_the_flag_and_the_env_var_and_lists_regions() {
    let home = Home::new(None);
    let err = resolve(
        &Inputs::default(),
        &[("GENESYSCLOUD_ACCESS_TOKEN", "t")],
        &home,
    )
    .unwrap_err();
    let text = err.to_string();
    for part in [
        "--region",
        "GENESYSCLOUD_REGION",
        "eu-west-1 (mypurecloud.ie)",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
}

#[test]
fn a_bad_region_names_the_input_and_where_it_came_from() {
    let home = Home::new(None);
    let vars = [
        ("GENESYSCLOUD_ACCESS_TOKEN", "t"),
        ("GENESYSCLOUD_REGION", "mars-1"),
    ];
    let text = resolve(&Inputs::default(), &vars, &home)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("`mars-1`") && text.contains("GENESYSCLOUD_REGION"),
        "{text}"
    );
    let text = resolve(&region("http://example.com"), &vars, &home)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("unencrypted") && text.contains("--region"),
        "{text}"
    );
}

#[test]
fn rate_and_concurrency_must_be_at_least_one() {
    let home = Home::new(Some(PROFILES));
    let inputs = Inputs {
        rate_per_minute: 0,
        ..Inputs::default()
    };
    assert_eq!(
        resolve(&inputs, &[], &home).unwrap_err(),
        ConfigError::Rate { value: 0 }
    );
    let inputs = Inputs {
        concurrency: Some(0),
        ..Inputs::default()
    };
    let err = resolve(&inputs, &[], &home).unwrap_err();
    assert_eq!(err, ConfigError::Concurrency { value: 0 });
    assert!(err.to_string().contains("at least 1"));
}

#[test]
fn a_broken_profile_file_is_reported_without_its_contents() {
    let home = Home::new(Some("[DEFAULT]\nclient_secret = \"hunter2\nbad"));
    let text = resolve(&region("eu-west-1"), &[], &home)
        .unwrap_err()
        .to_string();
    assert!(text.contains("config.toml"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    // Not needed, not read: env credentials and a region flag work despite the broken file.
    let vars = [("GENESYSCLOUD_ACCESS_TOKEN", "t")];
    assert!(resolve(&region("eu-west-1"), &vars, &home).is_ok());
}

#[test]
fn local_settings_and_client_options() {
    let url = url::Url::parse("http://127.0.0.1:4567").unwrap();
    let settings = Settings::local(
        &url,
        "sandbox",
        dactl::secret::Secret::new("sandbox"),
        600,
        3,
        4,
    );
    let options = settings.client_options();
    assert_eq!(options.target.api_base.as_str(), "http://127.0.0.1:4567/");
    assert_eq!(options.target.login_base, options.target.api_base);
    assert_eq!(
        (options.rate_per_minute, options.tokens, options.concurrency),
        (600, 3, 4)
    );
    assert_eq!(
        options.retry.max_retry_after,
        std::time::Duration::from_secs(180)
    );
    assert!(options.request_timeout > std::time::Duration::ZERO);
}

const POOLED: &str = r#"
[DEFAULT]
environment = "mypurecloud.ie"
client_credentials = "profile-id"
client_secret = "profile-secret"
token_pool_size = 3
"#;

#[test]
fn the_pool_size_comes_from_the_flag_then_the_profile_then_ten() {
    let home = Home::new(Some(POOLED));
    let settings = resolve(&Inputs::default(), &[], &home).unwrap();
    // The profile's `token_pool_size`, and 4 requests in flight per token (at least 8).
    assert_eq!((settings.tokens, settings.concurrency), (3, 12));
    assert_eq!(settings.client_options().tokens, 3);
    let flag = Inputs {
        tokens: Some(7),
        ..Inputs::default()
    };
    let settings = resolve(&flag, &[], &home).unwrap();
    assert_eq!((settings.tokens, settings.concurrency), (7, 28));
    // `--concurrency` wins over the derived value; 50 tokens would derive more than 64.
    let both = Inputs {
        tokens: Some(50),
        concurrency: Some(5),
        ..Inputs::default()
    };
    assert_eq!(resolve(&both, &[], &home).unwrap().concurrency, 5);
    let most = Inputs {
        tokens: Some(50),
        ..Inputs::default()
    };
    assert_eq!(resolve(&most, &[], &home).unwrap().concurrency, 64);
    // A profile that is not read (env credentials and a region given) has no say.
    let vars = [
        ("GENESYSCLOUD_OAUTHCLIENT_ID", "env-id"),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "env-secret"),
    ];
    let settings = resolve(&region("eu-west-1"), &vars, &home).unwrap();
    assert_eq!(settings.tokens, 10);
}

#[test]
fn a_ready_made_token_derives_the_concurrency_of_one_token() {
    let home = Home::new(None);
    let vars = [("GENESYSCLOUD_ACCESS_TOKEN", "tok")];
    let settings = resolve(&region("eu-west-1"), &vars, &home).unwrap();
    // Ten asked for (the default), one usable: the concurrency of one token, not of ten.
    assert_eq!((settings.tokens, settings.concurrency), (10, 8));
}

#[test]
fn pool_sizes_outside_one_to_fifty_are_refused_naming_where_they_came_from() {
    for size in ["0", "51", "-3"] {
        let home = Home::new(Some(&POOLED.replace("= 3", &format!("= {size}"))));
        let err = resolve(&Inputs::default(), &[], &home).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Tokens { value, .. } if value.to_string() == size),
            "{err:?}"
        );
        let text = err.to_string();
        for part in ["`token_pool_size`", "`DEFAULT`", "config.toml", "1 to 50"] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
    }
    let home = Home::new(Some(&POOLED.replace("= 3", "= \"ten\"")));
    let text = resolve(&Inputs::default(), &[], &home)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("`token_pool_size`") && text.contains("whole number"),
        "{text}"
    );
    for size in [0, 51] {
        let flag = Inputs {
            tokens: Some(size),
            ..Inputs::default()
        };
        let text = resolve(&flag, &[], &home).unwrap_err().to_string();
        assert!(
            text.contains("`--tokens`") && text.contains("1 to 50"),
            "{text}"
        );
    }
}
