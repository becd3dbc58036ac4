//! `usage` and `usage/export`: the usage store's reports and rows, and `/metrics`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Management, error, ok};

/// The store's query for `params` (`group-by`, `from`, `to`, `bucket`), or a 400.
#[allow(clippy::result_large_err)] // the 400 is the handler's answer as it stands
fn query(params: &HashMap<String, String>) -> Result<crate::usage::Query, Response> {
    let get = |name: &str| params.get(name).map(String::as_str);
    crate::usage::Query::from_params(get("group-by"), get("from"), get("to"), get("bucket"))
        .map_err(|message| error(StatusCode::BAD_REQUEST, "invalid_query", message))
}

fn store_off() -> Response {
    error(
        StatusCode::CONFLICT,
        "usage_off",
        "the usage store is off (`usage.enabled: false`)".to_owned(),
    )
}

/// `GET usage`: totals, per group and per time bucket as the parameters ask.
pub(super) async fn usage(Query(params): Query<HashMap<String, String>>) -> Response {
    let query = match query(&params) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let Some(reader) = crate::usage::reader() else {
        return store_off();
    };
    match tokio::task::spawn_blocking(move || reader.report(&query)).await {
        Ok(Ok(report)) => ok(serde_json::to_value(report).unwrap_or_default()),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "usage_read",
            format!("{e:#}"),
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "usage_read",
            "the read stopped".to_owned(),
        ),
    }
}

/// `GET usage/export?format=csv|json`: the rows in the range, oldest first.
pub(super) async fn export(Query(params): Query<HashMap<String, String>>) -> Response {
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("format: `{other}` is not one of csv, json"),
            );
        }
    };
    let query = match query(&params) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let Some(reader) = crate::usage::reader() else {
        return store_off();
    };
    let rows = match tokio::task::spawn_blocking(move || reader.rows(&query)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "usage_read",
                format!("{e:#}"),
            );
        }
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "usage_read",
                "the read stopped".to_owned(),
            );
        }
    };
    if csv {
        let mut response = crate::usage::rows_to_csv(&rows).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        response
    } else {
        ok(serde_json::json!({"rows": rows}))
    }
}

/// `GET /metrics`: the Prometheus text.
pub(super) async fn metrics(State(management): State<Arc<Management>>) -> Response {
    let mut response = crate::metrics::render(&management.gateway()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    response
}
