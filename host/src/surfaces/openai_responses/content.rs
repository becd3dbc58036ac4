//! Content parts of Responses message items and tool outputs (`input_text`,
//! `output_text`, `refusal`, `input_image`, `input_file`) into IR parts.
//!
//! Files must travel inline or by URL: a `file_id` points into OpenAI's file store,
//! which no other provider can read and this proxy does not keep, so it is refused.

use serde_json::Value;

use super::OPENAI;
use super::fields::{
    Object, invalid_value, keyed_options, object, opt_string, string, unsupported, wrong_type,
};
use crate::ir::{FileData, FilePart, Part, TextPart, ToolOutput};
use crate::surfaces::ClientError;

/// A message's `content`: a string, or an array of typed parts.
pub(super) fn content_parts(value: Option<Value>, path: &str) -> Result<Vec<Part>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![Part::Text(TextPart {
            text,
            options: None,
        })]),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| content_part(item, &format!("{path}[{index}]")))
            .collect(),
        Some(other) => Err(wrong_type(path, "a string or an array", &other)),
    }
}

/// A tool output: a string, or an array of text, image and file parts.
pub(super) fn tool_output(
    value: Option<Value>,
    path: &str,
) -> Result<Vec<ToolOutput>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![ToolOutput::Text(text)]),
        Some(Value::Array(_)) | Some(Value::Object(_)) => {
            let value = match value {
                Some(Value::Object(single)) => Value::Array(vec![Value::Object(single)]),
                other => other.unwrap_or_default(),
            };
            content_parts(Some(value), path)?
                .into_iter()
                .map(|part| match part {
                    Part::Text(text) => Ok(ToolOutput::Text(text.text)),
                    Part::File(file) => Ok(ToolOutput::File(file)),
                    _ => Err(invalid_value(
                        path,
                        "a tool output holds only text, images or files",
                    )),
                })
                .collect()
        }
        Some(other) => Err(wrong_type(path, "a string or an array", &other)),
    }
}

fn content_part(value: Value, path: &str) -> Result<Part, ClientError> {
    let mut fields = object(Some(value), path)?;
    let kind = string(fields.remove("type"), &format!("{path}.type"))?;
    match kind.as_str() {
        "input_text" | "output_text" | "text" => {
            let text = string(fields.remove("text"), &format!("{path}.text"))?;
            // Empty annotation and logprob lists say nothing; real ones are kept.
            drop_empty_array(&mut fields, "annotations");
            drop_empty_array(&mut fields, "logprobs");
            if kind == "output_text" && !fields.is_empty() {
                fields.insert("type".to_owned(), Value::String(kind));
            }
            Ok(Part::Text(TextPart {
                text,
                options: keyed_options(OPENAI, fields),
            }))
        }
        "refusal" => {
            let text = string(fields.remove("refusal"), &format!("{path}.refusal"))?;
            fields.insert("type".to_owned(), Value::String(kind));
            Ok(Part::Text(TextPart {
                text,
                options: keyed_options(OPENAI, fields),
            }))
        }
        "input_image" => image(fields, path).map(Part::File),
        "input_file" => file(fields, path).map(Part::File),
        "input_audio" => Err(unsupported(
            &format!("{path}.type"),
            "audio input cannot be routed to every provider; send a transcript as input_text",
        )),
        other => Err(invalid_value(
            &format!("{path}.type"),
            format!(
                "unsupported content type '{other}'; expected input_text, output_text, refusal, input_image or input_file"
            ),
        )),
    }
}

fn drop_empty_array(fields: &mut Object, key: &str) {
    if fields
        .get(key)
        .is_some_and(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty))
    {
        fields.remove(key);
    }
}

fn refuse_file_id(fields: &mut Object, path: &str) -> Result<(), ClientError> {
    if let Some(id) = opt_string(fields.remove("file_id"), &format!("{path}.file_id"))? {
        return Err(unsupported(
            &format!("{path}.file_id"),
            format!(
                "file_id '{id}' refers to OpenAI's file store, which this proxy cannot read; send the file inline (a data: URL in image_url or file_data) or by URL"
            ),
        ));
    }
    Ok(())
}

/// `input_image`: `image_url` as a `data:` URL or an http(s) URL; `detail` rides in
/// options where the OpenAI adapter reads it back.
fn image(mut fields: Object, path: &str) -> Result<FilePart, ClientError> {
    refuse_file_id(&mut fields, path)?;
    let url_path = format!("{path}.image_url");
    let url = match fields.remove("image_url") {
        // Some SDKs send Chat's `{"url": ...}` shape here.
        Some(Value::Object(mut inner)) => string(inner.remove("url"), &url_path)?,
        other => string(other, &url_path)?,
    };
    let (media_type, data) = match data_url(&url) {
        Some((media_type, data)) => (media_type.to_owned(), FileData::Base64(data.to_owned())),
        None => (
            media_type_from_name(&url)
                .unwrap_or("image/jpeg")
                .to_owned(),
            FileData::Url(url),
        ),
    };
    Ok(FilePart {
        media_type,
        data,
        filename: None,
        options: keyed_options(OPENAI, fields),
    })
}

/// `input_file`: `file_data` (a `data:` URL or bare base64) or `file_url`.
fn file(mut fields: Object, path: &str) -> Result<FilePart, ClientError> {
    refuse_file_id(&mut fields, path)?;
    let filename = opt_string(fields.remove("filename"), &format!("{path}.filename"))?;
    let guessed = filename.as_deref().and_then(media_type_from_name);
    let (media_type, data) = if let Some(file_data) =
        opt_string(fields.remove("file_data"), &format!("{path}.file_data"))?
    {
        match data_url(&file_data) {
            Some((media_type, data)) => (media_type.to_owned(), FileData::Base64(data.to_owned())),
            None => (
                guessed.unwrap_or("application/pdf").to_owned(),
                FileData::Base64(file_data),
            ),
        }
    } else if let Some(url) = opt_string(fields.remove("file_url"), &format!("{path}.file_url"))? {
        let media_type = guessed.or_else(|| media_type_from_name(&url));
        (
            media_type.unwrap_or("application/pdf").to_owned(),
            FileData::Url(url),
        )
    } else {
        return Err(invalid_value(
            path,
            "an input_file needs file_data or file_url",
        ));
    };
    Ok(FilePart {
        media_type,
        data,
        filename,
        options: keyed_options(OPENAI, fields),
    })
}

/// `data:image/png;base64,AAAA` into (`image/png`, `AAAA`).
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (header, data) = rest.split_once(',')?;
    let media_type = header.split(';').next().unwrap_or_default();
    (!media_type.is_empty() && header.ends_with(";base64")).then_some((media_type, data))
}

/// A media type from a file name or URL's extension (query and fragment ignored).
fn media_type_from_name(name: &str) -> Option<&'static str> {
    let name = name.split(['?', '#']).next().unwrap_or(name);
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "json" => "application/json",
        _ => return None,
    })
}
