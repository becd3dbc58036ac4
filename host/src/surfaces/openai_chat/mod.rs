//! OpenAI Chat Completions (`POST /v1/chat/completions`, `GET /v1/models`).
//!
//! API CONTRACT (bodies being written):
//! - `pub fn decode(body: &[u8]) -> Result<Decoded, ClientError>`
//! - `pub struct ChatStreamEncoder` with `pub fn new(model: &str, include_usage: bool) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `chat.completion` object)
//! - `pub fn error_body(error: &ClientError) -> Vec<u8>` (`{"error": {...}}`; status from `error.kind.status()`)
//! - `pub fn models_body(models: &[ListedModel]) -> Vec<u8>`
