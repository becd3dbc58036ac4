//! A guest's stderr: kept in memory, only its last bytes, and never refusing a
//! write. A panic message is the last thing a guest writes; a chatty guest must
//! neither grow the host's memory nor fail (Rust's `eprintln!` panics when stderr
//! refuses a write, which a bounded pipe that fills up would cause).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes of stderr kept: enough for a panic message with its location.
const KEPT_BYTES: usize = 16 << 10;

#[derive(Default)]
struct Tail {
    /// The last bytes written (at most `2 * KEPT_BYTES` between trims).
    kept: Vec<u8>,
    /// Bytes ever written, to find what one call wrote.
    total: u64,
}

/// The tail of a guest's stderr; clones share it.
#[derive(Clone, Default)]
pub struct StderrTail(Arc<Mutex<Tail>>);

impl StderrTail {
    fn append(&self, bytes: &[u8]) {
        let mut tail = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        tail.total += bytes.len() as u64;
        let bytes = &bytes[bytes.len().saturating_sub(KEPT_BYTES)..];
        tail.kept.extend_from_slice(bytes);
        // Trim in batches so a stream of small writes stays linear.
        if tail.kept.len() > 2 * KEPT_BYTES {
            let excess = tail.kept.len() - KEPT_BYTES;
            tail.kept.drain(..excess);
        }
    }

    /// Bytes written so far: a mark for [`Self::since`].
    pub fn mark(&self) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .total
    }

    /// What was written after `mark`, as far as it is still kept.
    pub fn since(&self, mark: u64) -> String {
        let tail = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        let written = usize::try_from(tail.total.saturating_sub(mark)).unwrap_or(usize::MAX);
        let start = tail.kept.len().saturating_sub(written);
        String::from_utf8_lossy(&tail.kept[start..]).into_owned()
    }
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrTail {
    /// Always ready: writes never block.
    async fn ready(&mut self) {}
}

impl OutputStream for StderrTail {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for StderrTail {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_call_wrote_is_found_after_its_mark() {
        let stderr = StderrTail::default();
        stderr.append(b"earlier noise\n");
        let mark = stderr.mark();
        stderr.append(b"panicked at src/lib.rs:1:1:\nboom\n");
        assert_eq!(stderr.since(mark), "panicked at src/lib.rs:1:1:\nboom\n");
    }

    #[test]
    fn a_chatty_guest_keeps_only_the_tail_and_never_fails() {
        let mut stderr = StderrTail::default();
        for _ in 0..10_000 {
            stderr
                .write(Bytes::from_static(b"0123456789abcdef"))
                .unwrap();
        }
        let mark = stderr.mark();
        stderr.write(Bytes::from_static(b"the end")).unwrap();
        assert!(stderr.0.lock().unwrap().kept.len() <= 2 * KEPT_BYTES);
        assert_eq!(stderr.since(mark), "the end");
        assert_eq!(stderr.since(0).len(), stderr.0.lock().unwrap().kept.len());
    }
}
