//! `Debug` output of the run configuration never shows credential values.

use std::collections::BTreeMap;

use agents_core::ModelSettings;
use agents_runner::{RunConfig, RunOptions};

#[test]
fn run_config_debug_hides_extra_header_values() {
    let config = RunConfig::<()> {
        model_settings: Some(ModelSettings::new().extra_headers(BTreeMap::from([
            ("api-key".to_owned(), "gateway-secret-41d7".to_owned()),
            ("x-goog-api-key".to_owned(), "AIza-secret-0e93".to_owned()),
        ]))),
        ..RunConfig::default()
    };
    let options = RunOptions::<()>::default().run_config(config.clone());
    for shown in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{options:?}"),
        format!("{options:#?}"),
    ] {
        assert!(!shown.contains("gateway-secret"), "{shown}");
        assert!(!shown.contains("AIza-secret"), "{shown}");
        assert!(shown.contains("api-key"), "{shown}");
        assert!(shown.contains("x-goog-api-key"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
