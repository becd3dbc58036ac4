//! Fixups in a request: they edit the IR in configured order, a fixup without a
//! hook is never called (nor instantiated), and upstream-request fixups stamp the
//! outgoing request.

mod runtime_fixtures;

use plugboard::ir::{HttpRequest, Part, Role};
use runtime_fixtures::*;

#[tokio::test(flavor = "multi_thread")]
async fn fixups_edit_the_request_in_configured_order() {
    let dir = adapters_dir(&[
        "adapters/first-user-turn.wasm",
        "adapters/merge-turns.wasm",
        "test-adapters/test-stamp.wasm",
        "test-adapters/test-spin.wasm",
    ]);
    let runtime = runtime();
    assert!(runtime.load_dir(dir.path()).await.unwrap().is_empty());
    let registry = runtime.registry();
    let provider = registry.provider("test-spin").unwrap();
    let chain = ["first-user-turn", "merge-turns", "test-stamp"]
        .map(|id| registry.fixup(id).unwrap().clone());
    let mut sandbox = runtime
        .sandbox(provider, &chain, sandbox_context())
        .await
        .unwrap();

    // A conversation that opens with the assistant, then two user turns in a row.
    let request = request_with(vec![
        text_message(Role::System, "be brief"),
        text_message(Role::Assistant, "Hello!"),
        text_message(Role::User, "list files"),
        text_message(Role::User, "in /tmp"),
    ]);
    let fixed = sandbox
        .on_request(request)
        .await
        .expect("fixups succeed")
        .into_host();

    let roles: Vec<Role> = fixed.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    let Part::Text(placeholder) = &fixed.messages[1].parts[0] else {
        panic!("text part")
    };
    assert_eq!(placeholder.text, ".");
    assert_eq!(
        fixed.messages[3].parts.len(),
        2,
        "the two user turns were merged"
    );

    // test-stamp has only the upstream-request hook: it stamps the outgoing request.
    let outgoing = HttpRequest {
        method: "POST".into(),
        url: "http://127.0.0.1:9/v1".into(),
        headers: vec![],
        body: b"{}".to_vec(),
    };
    let stamped = sandbox.on_upstream_request(outgoing).await.expect("stamp");
    assert!(
        stamped
            .headers
            .iter()
            .any(|(name, value)| name == "x-plugboard-stamp" && value == "v1"),
        "{:?}",
        stamped.headers
    );
    assert_eq!(stamped.body, b"{}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_without_fixup_hooks_passes_through_untouched() {
    let dir = adapters_dir(&[
        "test-adapters/test-stamp.wasm",
        "test-adapters/test-spin.wasm",
    ]);
    let runtime = runtime();
    runtime.load_dir(dir.path()).await.unwrap();
    let registry = runtime.registry();
    let stamp = registry.fixup("test-stamp").unwrap().clone();
    let mut sandbox = runtime
        .sandbox(
            registry.provider("test-spin").unwrap(),
            &[stamp],
            sandbox_context(),
        )
        .await
        .unwrap();

    let request = request_with(vec![text_message(Role::User, "hi")]);
    let same = sandbox
        .on_request(request.clone())
        .await
        .unwrap()
        .into_host();

    assert_eq!(same, request);
}
