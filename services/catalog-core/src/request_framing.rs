//! Finds requests that carry both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.1), which
//! hyper serves by dropping `Content-Length`, so our code could not refuse them otherwise.
//!
//! [`HeadWatch`] wraps a connection's IO below hyper and parses each request head in the bytes
//! hyper reads (with `httparse`, hyper's own parser), without copying bodies. It can only find
//! the next head after a body whose length it knows (none, or `Content-Length`); after a chunked
//! body, or a head it cannot parse, it stops and the request's verdict asks for the connection to
//! close, so no later request on it goes unchecked. HTTP/1 serves a connection's requests in
//! order, so the service takes the verdicts from the same FIFO ([`Verdicts::next`]).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ApiError;

/// hyper's default limit on a request head; a longer one is refused by hyper anyway.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// hyper's default limit on the number of headers.
const MAX_HEADERS: usize = 100;

/// What the service must do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Framed by `Content-Length` or without a body: serve it, keep the connection.
    Plain,
    /// Both `Content-Length` and `Transfer-Encoding`: refuse it with 400 and close.
    Conflict,
    /// The next head cannot be found (chunked body, unparsable or oversized head): serve it and
    /// close the connection after the response.
    Untracked,
}

/// The verdicts of one connection's request heads, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Verdicts(Arc<Mutex<VecDeque<Framing>>>);

impl Verdicts {
    /// The verdict of the next request hyper hands the service. None left means the watch has
    /// seen fewer heads than hyper parsed, so nothing is known of this one: close.
    pub fn next(&self) -> Framing {
        self.lock().pop_front().unwrap_or(Framing::Untracked)
    }

    fn push(&self, framing: Framing) {
        self.lock().push_back(framing);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Framing>> {
        // The queue stays consistent even if a holder panicked (push and pop only).
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Middleware: 400 for a request framed by both `Content-Length` and `Transfer-Encoding`
/// (RFC 9112 §6.1), before any handler reads its body.
pub async fn refuse_double_framing(request: Request, next: Next) -> Response {
    match refusal(&request) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// The 400 for a request framed by both `Content-Length` and `Transfer-Encoding`, or None.
pub fn refusal(request: &Request) -> Option<Response> {
    (request.extensions().get::<Framing>() == Some(&Framing::Conflict)).then(|| {
        ApiError::BadRequest("the request carries both Content-Length and Transfer-Encoding".into())
            .into_response()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Reading a head (its bytes so far are in `HeadWatch::head`).
    Head,
    /// Inside a `Content-Length` body: this many bytes remain.
    Body(u64),
    /// The next head cannot be found; the connection closes after the current request.
    Stopped,
}

/// A connection's IO that reports the framing of each request head read through it.
#[derive(Debug)]
pub struct HeadWatch<IO> {
    inner: IO,
    position: Position,
    head: Vec<u8>,
    verdicts: Verdicts,
}

impl<IO> HeadWatch<IO> {
    pub fn new(inner: IO) -> (Self, Verdicts) {
        let verdicts = Verdicts::default();
        let watch = HeadWatch {
            inner,
            position: Position::Head,
            head: Vec::new(),
            verdicts: verdicts.clone(),
        };
        (watch, verdicts)
    }

    /// Follows the connection through `bytes`, the next ones read from it.
    fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.position {
                Position::Stopped => return,
                Position::Body(remaining) => {
                    let skipped = remaining.min(bytes.len() as u64);
                    bytes = &bytes[skipped as usize..];
                    self.position = match remaining - skipped {
                        0 => Position::Head,
                        left => Position::Body(left),
                    };
                }
                Position::Head => {
                    let known = self.head.len();
                    let taken = bytes.len().min(MAX_HEAD_BYTES - known);
                    self.head.extend_from_slice(&bytes[..taken]);
                    match parse_head(&self.head) {
                        Parsed::Complete {
                            length,
                            framing,
                            body,
                        } => {
                            bytes = &bytes[length - known..];
                            self.head.clear();
                            self.verdicts.push(framing);
                            self.position = match (framing, body) {
                                (Framing::Plain, 0) => Position::Head,
                                (Framing::Plain, body) => Position::Body(body),
                                _ => Position::Stopped,
                            };
                        }
                        Parsed::Partial if self.head.len() < MAX_HEAD_BYTES => return,
                        Parsed::Partial | Parsed::Invalid => self.stop(),
                    }
                }
            }
        }
    }

    fn stop(&mut self) {
        self.verdicts.push(Framing::Untracked);
        self.position = Position::Stopped;
        self.head = Vec::new();
    }
}

enum Parsed {
    Complete {
        /// Bytes of the head, blank line included.
        length: usize,
        framing: Framing,
        /// Body length for `Framing::Plain`.
        body: u64,
    },
    Partial,
    Invalid,
}

fn parse_head(bytes: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let length = match request.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid,
    };
    let mut content_length = None;
    let mut transfer_encoding = false;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|value| value.trim().parse::<u64>().ok());
            content_length = match (content_length, value) {
                (None, Some(value)) => Some(Some(value)),
                (Some(Some(known)), Some(value)) if known == value => Some(Some(value)),
                // Unparsable or disagreeing: hyper refuses the request; stop following.
                _ => Some(None),
            };
        }
    }
    let (framing, body) = match (content_length, transfer_encoding) {
        (Some(_), true) => (Framing::Conflict, 0),
        (None, true) | (Some(None), false) => (Framing::Untracked, 0),
        (Some(Some(body)), false) => (Framing::Plain, body),
        (None, false) => (Framing::Plain, 0),
    };
    Parsed::Complete {
        length,
        framing,
        body,
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for HeadWatch<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.observe(&buf.filled()[before..]);
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for HeadWatch<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdicts after feeding `chunks` in order, as reads would deliver them.
    fn verdicts_of(chunks: &[&[u8]]) -> (Vec<Framing>, Position) {
        let (mut watch, verdicts) = HeadWatch::new(());
        for chunk in chunks {
            watch.observe(chunk);
        }
        let seen = verdicts.lock().iter().copied().collect();
        (seen, watch.position)
    }

    const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n";

    #[test]
    fn both_framing_headers_in_either_order_and_any_case_are_a_conflict() {
        for head in [
            &b"POST /a HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
            b"POST /a HTTP/1.1\r\ncONTENT-lENGTH: 4\r\ntransfer-ENCODING: gzip\r\n\r\n",
        ] {
            let (seen, position) = verdicts_of(&[head, GET]);
            assert_eq!(
                seen,
                [Framing::Conflict],
                "{}",
                String::from_utf8_lossy(head)
            );
            assert_eq!(position, Position::Stopped);
        }
    }

    #[test]
    fn a_content_length_body_is_skipped_to_the_next_head_across_reads() {
        let post = b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123";
        let (seen, position) = verdicts_of(&[post, b"456789GET /b HT", b"TP/1.1\r\n\r\n", GET]);
        assert_eq!(seen, [Framing::Plain; 3]);
        assert_eq!(position, Position::Head);
    }

    #[test]
    fn a_body_that_looks_like_a_conflicting_head_is_not_read_as_one() {
        let smuggled =
            b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let head = format!(
            "POST /a HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            smuggled.len()
        );
        let (seen, _) = verdicts_of(&[head.as_bytes(), smuggled, GET]);
        assert_eq!(seen, [Framing::Plain; 2]);
    }

    #[test]
    fn pipelined_heads_in_one_read_each_get_a_verdict() {
        let (seen, position) = verdicts_of(&[&[GET, GET, GET].concat()]);
        assert_eq!(seen, [Framing::Plain; 3]);
        assert_eq!(position, Position::Head);
    }

    #[test]
    fn a_chunked_body_stops_the_watch() {
        let chunked = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
        let (seen, position) = verdicts_of(&[chunked, GET]);
        assert_eq!(seen, [Framing::Untracked]);
        assert_eq!(position, Position::Stopped);
    }

    #[test]
    fn an_invalid_content_length_or_head_stops_the_watch() {
        for head in [
            &b"POST /a HTTP/1.1\r\nContent-Length: 4x\r\n\r\n"[..],
            b"POST /a HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
            b"NOT A REQUEST\r\n\r\n",
        ] {
            let (seen, position) = verdicts_of(&[head, GET]);
            assert_eq!(
                seen,
                [Framing::Untracked],
                "{}",
                String::from_utf8_lossy(head)
            );
            assert_eq!(position, Position::Stopped);
        }
    }

    #[test]
    fn a_head_beyond_the_limit_stops_the_watch() {
        let long_header = format!("GET /a HTTP/1.1\r\nX-Long: {}", "a".repeat(MAX_HEAD_BYTES));
        let (seen, position) = verdicts_of(&[long_header.as_bytes(), b"\r\n\r\n"]);
        assert_eq!(seen, [Framing::Untracked]);
        assert_eq!(position, Position::Stopped);
    }

    #[test]
    fn a_head_trickled_byte_by_byte_is_found() {
        let bytes: Vec<&[u8]> = GET.chunks(1).collect();
        let (seen, _) = verdicts_of(&bytes);
        assert_eq!(seen, [Framing::Plain]);
    }

    #[test]
    fn no_verdict_left_means_close() {
        assert_eq!(Verdicts::default().next(), Framing::Untracked);
    }
}
