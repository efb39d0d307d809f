//! A body wrapper that counts the bytes going through it.

use std::pin::Pin;
use std::task::{Context, Poll};

use alerting_core::metrics::StripedHistogram;
use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// Counts data bytes and records the total in a histogram at the end of
    /// the stream, or when dropped before it (what was read or sent).
    pub(crate) struct Counted<B> {
        #[pin]
        inner: B,
        tally: Tally,
    }
}

impl<B> Counted<B> {
    pub(crate) fn new(inner: B, histogram: StripedHistogram) -> Self {
        Self {
            inner,
            tally: Tally {
                bytes: 0,
                histogram: Some(histogram),
            },
        }
    }
}

struct Tally {
    bytes: u64,
    histogram: Option<StripedHistogram>,
}

impl Tally {
    fn record(&mut self) {
        if let Some(h) = self.histogram.take() {
            // Precision loss above 2^53 bytes is not a concern.
            h.observe(self.bytes as f64);
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        self.record();
    }
}

impl<B: Body> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.tally.bytes = this.tally.bytes.saturating_add(data.remaining() as u64);
                }
            }
            Poll::Ready(None) => this.tally.record(),
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use alerting_core::metrics::Buckets;
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn counts_what_went_through() {
        let h = StripedHistogram::new(Buckets::sizes());
        let body = axum::body::Body::from("hello world");
        let collected = Counted::new(body, h.clone()).collect().await.unwrap();
        assert_eq!(collected.to_bytes().len(), 11);
        assert_eq!(h.count(), 1);
        assert_eq!(h.sum(), 11.0);

        // Dropped unread: recorded as 0 bytes, once.
        drop(Counted::new(axum::body::Body::from("unread"), h.clone()));
        assert_eq!(h.count(), 2);
        assert_eq!(h.sum(), 11.0);
    }
}
