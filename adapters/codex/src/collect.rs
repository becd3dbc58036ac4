//! A Responses client that did not ask for a stream, served by passthrough: the backend
//! streams anyway, so the events are gathered into the one `response` document the
//! client expects (as the Responses API would have answered it).
//!
//! The document is `response.completed`'s (or `response.incomplete`'s) `response`,
//! whose `output` the backend may leave empty: then it is filled with the items of the
//! `response.output_item.done` events, in `output_index` order.

use plugboard_sdk::prelude::*;

/// Gathers a Responses event stream into its final `response` document.
#[derive(Default)]
pub struct DocumentCollector {
    parser: SseParser,
    /// Items done so far: (`output_index`, item).
    items: Vec<(u64, Value)>,
    response: Option<Value>,
}

impl DocumentCollector {
    /// Read the next chunk of the stream (split anywhere).
    pub fn push(&mut self, chunk: &[u8]) {
        let events = self.parser.push(chunk);
        self.take(events);
    }

    /// The stream ended: the document, if a terminal event arrived.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let events = self.parser.finish();
        self.take(events);
        let mut response = self.response.take()?;
        let empty = response
            .get("output")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if empty && let Some(object) = response.as_object_mut() {
            self.items.sort_by_key(|(index, _)| *index);
            let items: Vec<Value> = self.items.drain(..).map(|(_, item)| item).collect();
            object.insert("output".into(), Value::Array(items));
        }
        Some(to_json_bytes(&response))
    }

    fn take(&mut self, events: Vec<SseEvent>) {
        for event in events {
            // Unreadable events are the decoder's to report; here they are skipped.
            let Ok(data) = serde_json::from_str::<Value>(event.data.trim()) else {
                continue;
            };
            match data.get("type").and_then(Value::as_str) {
                Some("response.output_item.done") => {
                    if let Some(item) = data.get("item") {
                        let index = data
                            .get("output_index")
                            .and_then(Value::as_u64)
                            .unwrap_or(self.items.len() as u64);
                        self.items.push((index, item.clone()));
                    }
                }
                Some("response.completed" | "response.incomplete") => {
                    self.response = data.get("response").cloned();
                }
                _ => {}
            }
        }
    }
}
