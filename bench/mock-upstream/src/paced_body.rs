//! A response body that hands out pre-serialised stream frames, spacing the
//! content frames by a fixed interval the way a model emits tokens.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Streams `frames` in order. Frames in `content` (the range holding the
/// answer's text chunks) after the first are each released `interval` after
/// the one before; the framing events around them go out at once.
///
/// Deadlines are absolute (`previous + interval`), so timer lateness does not
/// accumulate; tokio's timer has millisecond granularity, so an interval below
/// 1 ms is rounded up per wait but still averages out over the stream.
pub struct PacedBody {
    frames: &'static [Bytes],
    next: usize,
    content: std::ops::Range<usize>,
    interval: Duration,
    /// Allocated on the first wait and reset for each later one.
    sleep: Option<Pin<Box<Sleep>>>,
    /// When the previous content frame was released.
    last_release: Option<Instant>,
}

impl PacedBody {
    /// A body over `frames`, pacing the frames in `content` by `interval`
    /// (zero: everything at once).
    pub fn new(
        frames: &'static [Bytes],
        content: std::ops::Range<usize>,
        interval: Duration,
    ) -> PacedBody {
        PacedBody {
            frames,
            next: 0,
            content,
            interval,
            sleep: None,
            last_release: None,
        }
    }

    fn must_wait(&self) -> bool {
        !self.interval.is_zero()
            && self.content.contains(&self.next)
            && self.next > self.content.start
    }
}

impl Body for PacedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        let Some(frame) = this.frames.get(this.next) else {
            return Poll::Ready(None);
        };
        if this.must_wait() {
            let deadline = this.last_release.unwrap_or_else(Instant::now) + this.interval;
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if sleep.deadline() != deadline {
                sleep.as_mut().reset(deadline);
            }
            ready!(sleep.as_mut().poll(cx));
        }
        if this.content.contains(&this.next) {
            this.last_release = Some(match this.last_release {
                Some(previous) if !this.interval.is_zero() => previous + this.interval,
                _ => Instant::now(),
            });
        }
        this.next += 1;
        Poll::Ready(Some(Ok(Frame::data(frame.clone()))))
    }

    fn is_end_stream(&self) -> bool {
        self.next >= self.frames.len()
    }

    /// Deliberately inexact: an exact hint would make hyper send
    /// `content-length`, while the real APIs stream with chunked encoding.
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn leaked(frames: &[&'static str]) -> &'static [Bytes] {
        Box::leak(
            frames
                .iter()
                .map(|f| Bytes::from_static(f.as_bytes()))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        )
    }

    #[tokio::test]
    async fn without_an_interval_every_frame_arrives_in_order() {
        let mut body = PacedBody::new(leaked(&["head", "a", "b", "tail"]), 1..3, Duration::ZERO);
        let mut seen = Vec::new();
        while let Some(frame) = body.frame().await {
            seen.push(frame.unwrap().into_data().unwrap());
        }
        assert_eq!(seen, ["head", "a", "b", "tail"]);
    }

    #[tokio::test(start_paused = true)]
    async fn content_frames_are_spaced_by_the_interval_and_framing_is_not() {
        let interval = Duration::from_millis(10);
        let mut body = PacedBody::new(leaked(&["head", "a", "b", "c", "tail"]), 1..4, interval);
        let start = Instant::now();
        let mut arrivals = Vec::new();
        while let Some(frame) = body.frame().await {
            arrivals.push((frame.unwrap().into_data().unwrap(), start.elapsed()));
        }
        let at = |i: usize| arrivals[i].1;
        assert_eq!(
            at(0),
            Duration::ZERO,
            "the framing before the text is not delayed"
        );
        assert_eq!(
            at(1),
            Duration::ZERO,
            "the first text chunk is the first byte, not delayed"
        );
        assert_eq!(at(2), interval);
        assert_eq!(at(3), 2 * interval);
        assert_eq!(
            at(4),
            2 * interval,
            "the closing events follow the last chunk at once"
        );
    }
}
