//! What a measurement sends, and the single keep-alive HTTP/1.1 connection it sends on.
//!
//! Every mode measures one request shape (URL, body, headers) against one system. The
//! connection is raw `hyper::client::conn::http1` over a `TcpStream` with TCP_NODELAY:
//! no pool, no DNS, no TLS, so the client adds as little as possible to what it times.

use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The request every mode sends: where, what body, which headers.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Full URL of the endpoint, `http://127.0.0.1:PORT/path?query`.
    #[arg(long)]
    pub url: String,
    /// The JSON request body, inline.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// The request body, read from this file.
    #[arg(long)]
    pub body_file: Option<std::path::PathBuf>,
    /// Extra request header `Name: value`; repeatable (keys, anthropic-version...).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
}

/// A parsed, ready-to-send request shape, cheap to clone per request.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port` to connect to.
    pub authority: String,
    /// The origin-form URI (`/path?query`) for the request line: servers such as
    /// uvicorn do not route an absolute-form one.
    pub uri: Uri,
    /// POST when there is a body, GET otherwise.
    pub method: Method,
    /// The body bytes (empty for GET).
    pub body: Bytes,
    /// Header pairs, sent in order after Host and Content-Type.
    pub headers: Vec<(String, String)>,
}

impl Target {
    /// Parses the command-line request shape; the URL must be plain `http://host:port`.
    pub fn from_args(args: &TargetArgs) -> Result<Self> {
        let body = match (&args.body, &args.body_file) {
            (Some(inline), _) => Bytes::from(inline.clone()),
            (None, Some(path)) => Bytes::from(
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            ),
            (None, None) => Bytes::new(),
        };
        let method = if body.is_empty() {
            Method::GET
        } else {
            Method::POST
        };
        Self::new(&args.url, method, body, &args.headers)
    }

    /// Builds a target from its parts; `headers` are `Name: value` strings.
    pub fn new(url: &str, method: Method, body: Bytes, headers: &[String]) -> Result<Self> {
        let uri: Uri = url.parse().with_context(|| format!("bad url {url}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("only http:// URLs are measured (got {url})");
        }
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow!("url {url} has no host:port"))?
            .to_string();
        let headers = headers
            .iter()
            .map(|h| {
                let (name, value) = h
                    .split_once(':')
                    .ok_or_else(|| anyhow!("header `{h}` is not `Name: value`"))?;
                Ok((name.trim().to_string(), value.trim().to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        let uri: Uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .expect("a path taken from a parsed URI");
        Ok(Self {
            authority,
            uri,
            method,
            body,
            headers,
        })
    }

    /// The same endpoint with another body (the swap mode's probe reuses a target).
    pub fn request(&self) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(self.uri.clone())
            .header(hyper::header::HOST, self.authority.as_str());
        if !self.body.is_empty() {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(Full::new(self.body.clone()))
            .expect("a request built from validated parts")
    }
}

/// One keep-alive connection to a target, reopened when the server closes it.
pub struct Connection {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// Opens a connection to `target`'s host.
    pub async fn open(target: &Target) -> Result<Self> {
        let mut connection = Self {
            target: target.clone(),
            sender: None,
        };
        connection.ensure_open().await?;
        Ok(connection)
    }

    async fn ensure_open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        let stale = match &self.sender {
            Some(sender) => sender.is_closed(),
            None => true,
        };
        if stale {
            self.sender = Some(handshake(&self.target.authority).await?);
        }
        let sender = self.sender.as_mut().expect("just opened");
        sender.ready().await.context("connection not ready")?;
        Ok(sender)
    }

    /// Sends one request and returns the response head (the body is still streaming).
    pub async fn send(&mut self) -> Result<Response<Incoming>> {
        let request = self.target.request();
        let sender = self.ensure_open().await?;
        match sender.send_request(request).await {
            Ok(response) => Ok(response),
            Err(error) => {
                // A keep-alive connection the server just closed: drop it so the next
                // request reconnects; this request still counts as failed.
                self.sender = None;
                Err(error).context("request failed")
            }
        }
    }
}

/// Opens one HTTP/1.1 connection with TCP_NODELAY and drives it on a spawned task.
pub async fn handshake(authority: &str) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("http/1.1 handshake")?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A whole response read to its end: status, the body, and when the last byte came.
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The complete body.
    pub body: Bytes,
    /// When the last body byte arrived.
    pub done: Instant,
}

/// Reads a response body to the end.
pub async fn read_all(response: Response<Incoming>) -> Result<Answer> {
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading body")?
        .to_bytes();
    Ok(Answer {
        status,
        body,
        done: Instant::now(),
    })
}

/// A short, printable excerpt of a body for error reports.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(300).collect()
}
