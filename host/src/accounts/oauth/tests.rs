//! Unit stories of the token-call runner: pointers, field encoding, PKCE, error
//! classification and redaction.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::call::{self, Answer, Filled, Values};
use super::*;

fn env_with<'a>(
    http: &'a reqwest::Client,
    endpoints: &'a [(String, String)],
    inputs: &'a BTreeMap<String, String>,
    attributes: &'a BTreeMap<String, String>,
) -> FlowEnv<'a> {
    FlowEnv {
        http,
        endpoints,
        inputs,
        attributes,
        timeout: Duration::from_secs(5),
    }
}

fn answer(status: u16, json: serde_json::Value) -> Answer {
    Answer {
        endpoint: "token".into(),
        status,
        text: json.to_string(),
        json,
    }
}

#[test]
fn pkce_challenge_matches_rfc_7636_appendix_b() {
    assert_eq!(
        call::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    // A 64-byte verifier is 86 characters of the unreserved set (43..=128 allowed).
    let verifier = call::base64url(&call::random_bytes(64).unwrap());
    assert_eq!(verifier.len(), 86);
    assert!(
        verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[test]
fn base64url_round_trips_and_jwt_claims_tolerate_padding() {
    for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\xfe\xfd"] {
        assert_eq!(
            call::base64url_decode(&call::base64url(bytes)).unwrap(),
            bytes
        );
    }
    let payload = call::base64url(br#"{"email":"me@example.com","n":1}"#);
    let claims = jwt_claims(&format!("e30.{payload}==.sig")).unwrap();
    assert_eq!(claims["email"], "me@example.com");
    assert!(jwt_claims("not-a-jwt").is_none());
    assert!(jwt_claims("a.!!!.c").is_none());
}

#[test]
fn an_answer_is_read_by_pointer_with_numbers_or_numeric_strings() {
    let answer = json!({
        "access_token": "at-123456789",
        "refresh_token": "rt-123456789",
        "expires_in": "3600",
        "endpoints": {"api": "https://api.example"},
        "profileArn": "arn:aws:x",
        "count": 3
    });
    let spec = spec::TokenAnswer {
        access_token: "/access_token".into(),
        refresh_token: Some("/refresh_token".into()),
        id_token: Some("/id_token".into()),
        expires_in: Some("/expires_in".into()),
        expires_at: None,
        base_url: Some("/endpoints/api".into()),
        attributes: vec![
            ("profile-arn".into(), "/profileArn".into()),
            ("count".into(), "/count".into()),
            ("absent".into(), "/nope".into()),
        ],
    };
    let granted = call::read_granted(&answer, &spec, "token").unwrap();
    assert_eq!(granted.access.expose(), "at-123456789");
    assert_eq!(granted.refresh.unwrap().expose(), "rt-123456789");
    assert!(granted.id_token.is_none());
    let left = granted
        .expires_at
        .unwrap()
        .duration_since(SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(3500) && left <= Duration::from_secs(3600));
    assert_eq!(granted.base_url.as_deref(), Some("https://api.example"));
    assert_eq!(granted.attributes["profile-arn"], "arn:aws:x");
    assert_eq!(granted.attributes["count"], "3");
    assert!(!granted.attributes.contains_key("absent"));

    let at = spec::TokenAnswer {
        expires_at: Some("/expires_at".into()),
        ..spec
    };
    let granted = call::read_granted(
        &json!({"access_token": "x", "expires_at": 1_900_000_000}),
        &at,
        "t",
    )
    .unwrap();
    assert_eq!(
        granted.expires_at,
        Some(UNIX_EPOCH + Duration::from_secs(1_900_000_000))
    );

    let missing = call::read_granted(&json!({"token_type": "bearer"}), &at, "token").unwrap_err();
    assert!(
        matches!(&missing, FlowError::Invalid(m) if m.contains("/access_token")),
        "{missing:?}"
    );
}

#[test]
fn fields_are_filled_by_role_and_encoded_for_form_or_json() {
    let http = reqwest::Client::new();
    let endpoints = vec![("token".to_string(), "http://127.0.0.1:9/token".to_string())];
    let inputs = BTreeMap::from([("region".to_string(), "eu-west-1".to_string())]);
    let attributes = BTreeMap::from([("project-id".to_string(), "p-1".to_string())]);
    let env = env_with(&http, &endpoints, &inputs, &attributes);
    let values = Values {
        client_id: "cid".into(),
        scope: ["a", "b"].join(","),
        refresh_token: Some(Secret::new("rt-secret-value")),
        previous: Some(json!({"device_auth_id": "dev-1", "n": 7})),
        ..Values::default()
    };
    let fill = |value: spec::TokenValue| call::fill(&env, &values, "token", "f", &value);
    use spec::TokenValue as V;
    assert_eq!(fill(V::ClientId).unwrap(), Filled::Text("cid".into()));
    assert_eq!(fill(V::Scope).unwrap(), Filled::Text("a,b".into()));
    assert_eq!(
        fill(V::RefreshToken).unwrap().into_text(),
        "rt-secret-value"
    );
    assert_eq!(
        fill(V::Input("region".into())).unwrap().into_text(),
        "eu-west-1"
    );
    assert_eq!(
        fill(V::Attribute("project-id".into())).unwrap().into_text(),
        "p-1"
    );
    assert_eq!(
        fill(V::Answer("/device_auth_id".into()))
            .unwrap()
            .into_text(),
        "dev-1"
    );
    assert_eq!(fill(V::Answer("/n".into())).unwrap().into_json(), json!(7));
    let scopes = fill(V::Json(r#"["x","y"]"#.into())).unwrap();
    assert_eq!(scopes.clone().into_json(), json!(["x", "y"]));
    assert_eq!(scopes.into_text(), r#"["x","y"]"#);
    let missing = fill(V::CodeVerifier).unwrap_err();
    assert!(matches!(&missing, FlowError::Invalid(m) if m.contains("PKCE verifier")));
    assert!(fill(V::Input("nope".into())).is_err());
    let unknown = call::endpoint_url(&env, "device").unwrap_err();
    assert!(matches!(unknown, FlowError::Invalid(m) if m.contains("`device`")));
}

#[test]
fn errors_are_classified_by_status_and_oauth_code() {
    let none = crate::credentials::Redactor::default();
    let rejected = call::classify(
        &answer(
            400,
            json!({"error": "invalid_grant", "error_description": "revoked"}),
        ),
        &none,
    );
    assert!(
        matches!(&rejected, FlowError::Rejected { code, message } if code == "invalid_grant" && message == "revoked")
    );
    let nested = call::classify(
        &answer(
            401,
            json!({"error": {"type": "invalid_token", "message": "expired"}}),
        ),
        &none,
    );
    assert!(matches!(&nested, FlowError::Rejected { code, .. } if code == "invalid_token"));
    let reused = call::classify(
        &answer(
            400,
            json!({"error": {"code": "refresh_token_reused", "message": "x"}}),
        ),
        &none,
    );
    assert!(matches!(&reused, FlowError::Rejected { code, .. } if code == "refresh_token_reused"));
    for status in [429, 500, 503] {
        let error = call::classify(&answer(status, json!({"error": "invalid_grant"})), &none);
        assert!(
            matches!(error, FlowError::Transient(_)),
            "{status}: {error:?}"
        );
    }
    let other = call::classify(&answer(404, json!({"error": "not_found"})), &none);
    assert!(
        matches!(&other, FlowError::Rejected { code, message } if code == "404" && message.contains("not_found"))
    );
    let plain = Answer {
        endpoint: "token".into(),
        status: 502,
        json: serde_json::Value::Null,
        text: "<html>bad gateway</html>".into(),
    };
    assert!(
        matches!(call::classify(&plain, &none), FlowError::Transient(m) if m.contains("bad gateway"))
    );
}

#[test]
fn an_echoed_secret_is_redacted_from_the_error() {
    let values = Values {
        refresh_token: Some(Secret::new("rt-echoed-0123456789")),
        ..Values::default()
    };
    let redactor = call::redactor_for(&values, None, None);
    let echoed = answer(
        400,
        json!({"error": "invalid_grant", "error_description": "refresh token rt-echoed-0123456789 is revoked"}),
    );
    let error = call::classify(&echoed, &redactor);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("rt-echoed-0123456789"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[test]
fn a_pasted_redirect_is_a_url_a_code_and_state_or_a_bare_code() {
    let state = "abc123";
    let url = "http://127.0.0.1:5555/callback?code=the-code&state=abc123";
    assert_eq!(browser::pasted_code(url, state).unwrap(), "the-code");
    assert_eq!(
        browser::pasted_code("  the-code#abc123 \n", state).unwrap(),
        "the-code"
    );
    assert_eq!(
        browser::pasted_code("bare-code", state).unwrap(),
        "bare-code"
    );
    let forged = "http://127.0.0.1:5555/callback?code=c&state=other";
    assert!(matches!(
        browser::pasted_code(forged, state),
        Err(FlowError::Invalid(_))
    ));
    assert!(browser::pasted_code("c#other", state).is_err());
    let denied = "http://127.0.0.1/callback?error=access_denied&state=abc123";
    assert!(matches!(
        browser::pasted_code(denied, state),
        Err(FlowError::Denied)
    ));
    assert!(browser::pasted_code("", state).is_err());
}

#[test]
fn a_device_login_makes_a_pkce_pair_only_when_its_calls_use_one() {
    use spec::TokenValue as V;
    let call = |fields: Vec<(&str, V)>| spec::TokenCall {
        endpoint: "token".into(),
        method: "POST".into(),
        encoding: spec::BodyEncoding::Form,
        fields: fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        headers: vec![],
        present: spec::Placement::None,
    };
    let device = |start: spec::TokenCall, poll: spec::TokenCall| spec::DeviceCodeSpec {
        client_id: "c".into(),
        client_secret: None,
        scopes: vec![],
        scope_separator: " ".into(),
        registration: None,
        start,
        user_code: "/user_code".into(),
        verification_uri: "/verification_uri".into(),
        verification_uri_complete: None,
        device_code: Some("/device_code".into()),
        interval: None,
        expires_in: None,
        poll,
        pending: spec::PollPending {
            error_code: "/error".into(),
            pending: vec!["authorization_pending".into()],
            slow_down: vec![],
            pending_statuses: vec![],
        },
        then: None,
        answer: spec::TokenAnswer {
            access_token: "/access_token".into(),
            refresh_token: None,
            id_token: None,
            expires_in: None,
            expires_at: None,
            base_url: Some("/resource_url".into()),
            attributes: vec![],
        },
    };
    // Qwen's: the challenge with the start, the verifier with the poll.
    let qwen = device(
        call(vec![
            ("client_id", V::ClientId),
            ("code_challenge", V::CodeChallenge),
            ("code_challenge_method", V::Text("S256".into())),
        ]),
        call(vec![
            ("device_code", V::DeviceCode),
            ("code_verifier", V::CodeVerifier),
        ]),
    );
    assert!(device_uses_pkce(&qwen));
    // GitHub's plain RFC 8628 flow has none.
    let plain = device(
        call(vec![("client_id", V::ClientId)]),
        call(vec![("device_code", V::DeviceCode)]),
    );
    assert!(!device_uses_pkce(&plain));
}

#[test]
fn a_bare_host_as_an_answers_base_url_gets_https() {
    let spec = spec::TokenAnswer {
        access_token: "/access_token".into(),
        refresh_token: Some("/refresh_token".into()),
        id_token: None,
        expires_in: Some("/expires_in".into()),
        expires_at: None,
        base_url: Some("/resource_url".into()),
        attributes: vec![],
    };
    let read = |resource: &str| {
        call::read_granted(
            &json!({"access_token": "at-1", "expires_in": 21600, "resource_url": resource}),
            &spec,
            "token",
        )
        .unwrap()
        .base_url
    };
    assert_eq!(
        read("portal.qwen.ai").as_deref(),
        Some("https://portal.qwen.ai")
    );
    assert_eq!(
        read("http://127.0.0.1:8080/v1").as_deref(),
        Some("http://127.0.0.1:8080/v1")
    );
}
