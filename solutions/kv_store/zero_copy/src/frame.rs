//! Zero-copy parsing of requests: a [`Frame`] borrows its arguments from the buffer it was parsed
//! from, so a pipelined batch of requests is parsed without allocating or copying a byte.
//!
//! Requests are arrays of bulk strings, `*<count>\r\n` followed by `count` times
//! `$<length>\r\n<bytes>\r\n`, which is what every Redis client sends; a line that does not start
//! with `*` is an *inline* request, words separated by spaces, for typing by hand.
//!
//! [`parse_frame`] looks at the front of a buffer and either finds a whole request there, says
//! how many bytes it took, or says that more bytes are needed; it never waits and never consumes.
//! The frame it returns is a view into the buffer: it holds `&'a [u8]`, and the borrow checker
//! proves that the buffer is neither changed nor freed while the frame is alive. A connection can
//! therefore refill or compact its buffer only once it is done with every frame parsed from it,
//! and whatever must outlive that (the keys and values a store keeps) is copied out first, once.

use std::fmt;

/// The longest bulk string accepted, as in Redis (`proto-max-bulk-len`): a larger announced
/// length is refused at once instead of waiting for bytes that will never be worth buffering.
pub const MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// The most arguments a request may have.
pub const MAX_ARGS: usize = 1024 * 1024;

/// The longest header or inline line accepted, line end included.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// Input that breaks the protocol. After one, the stream's framing is lost: the connection must
/// be closed (after an error reply, which the client may still read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A header or inline line with no line end in its first [`MAX_LINE_LEN`] bytes.
    #[error("a line is longer than {MAX_LINE_LEN} bytes; end every line with \\r\\n")]
    LineTooLong,
    /// An array or bulk length that is not a decimal number within its limit.
    #[error("invalid {what} {text:?}: expected a decimal number from 0 to {max}")]
    InvalidLength {
        /// "array length" or "bulk length".
        what: &'static str,
        /// The digits as sent.
        text: String,
        /// The largest length accepted.
        max: usize,
    },
    /// An element of a request array that is not a bulk string.
    #[error("expected a bulk string ('$<length>'), got {0:?}")]
    NotABulkString(String),
    /// A bulk string not followed by `\r\n` where its length says it ends.
    #[error("a bulk string of announced length {len} is not followed by \\r\\n")]
    WrongBulkLength {
        /// The announced length.
        len: usize,
    },
}

/// One request, borrowed from the buffer it was parsed from.
///
/// Copying a `Frame` copies two slice references, never the bytes; its arguments are read lazily
/// by [`Frame::args`], so holding one allocates nothing either.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    body: Body<'a>,
    len: usize,
}

/// Where a frame's arguments are, in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body<'a> {
    /// The elements of an array, already validated: `$3\r\nGET\r\n$1\r\nk\r\n`.
    Array(&'a [u8]),
    /// An inline line without its line end: `GET k`.
    Inline(&'a [u8]),
}

impl<'a> Frame<'a> {
    /// The number of arguments, the command name included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the request has no arguments at all (an empty line, or `*0`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The arguments, the command name first, each a slice of the parsed buffer.
    ///
    /// The items live as long as the buffer (`'a`), not as long as this `Frame` value: a caller
    /// may keep them after dropping the frame.
    pub fn args(&self) -> Args<'a> {
        Args {
            body: self.body,
            remaining: self.len,
        }
    }
}

impl fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.args().map(String::from_utf8_lossy))
            .finish()
    }
}

/// The arguments of a [`Frame`], read from the buffer as they are asked for.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    body: Body<'a>,
    remaining: usize,
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match &mut self.body {
            Body::Array(rest) => next_bulk(rest),
            Body::Inline(rest) => next_word(rest),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Args<'_> {}

/// Takes the next bulk string off the front of validated array elements.
fn next_bulk<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let header_end = rest.iter().position(|&b| b == b'\n')?;
    let header = rest.get(1..header_end)?;
    let digits = header.strip_suffix(b"\r").unwrap_or(header);
    let len = decimal(digits)?;
    let bytes = rest.get(header_end + 1..)?;
    let value = bytes.get(..len)?;
    *rest = bytes.get(len + 2..)?;
    Some(value)
}

/// Takes the next whitespace-separated word off the front of an inline line.
fn next_word<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let word = &rest[start..];
    let end = word
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(word.len());
    let (word, tail) = word.split_at(end);
    *rest = tail;
    Some(word)
}

/// Parses the request at the front of `buf`.
///
/// Returns the frame and the number of bytes it took, `Ok(None)` if `buf` does not hold all of it
/// yet (read more, keep what is there, and call again), or an error for bytes that break the
/// protocol. The frame borrows from `buf` (one input reference, so the elided output lifetime is
/// `buf`'s).
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some((first, mut pos)) = line(buf)? else {
        return Ok(None);
    };
    let Some(count) = first.strip_prefix(b"*") else {
        let len = first
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty())
            .count();
        let frame = Frame {
            body: Body::Inline(first),
            len,
        };
        return Ok(Some((frame, pos)));
    };
    let count = parse_len(count, MAX_ARGS, "array length")?;
    let elements = pos;
    for _ in 0..count {
        match bulk(&buf[pos..])? {
            Some(used) => pos += used,
            None => return Ok(None),
        }
    }
    let frame = Frame {
        body: Body::Array(&buf[elements..pos]),
        len: count,
    };
    Ok(Some((frame, pos)))
}

/// The line at the front of `buf` without its `\r\n` (or `\n`), and the bytes it took with its
/// line end; `None` if the line end has not arrived yet.
fn line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, FrameError> {
    let Some(end) = buf.iter().take(MAX_LINE_LEN).position(|&b| b == b'\n') else {
        return if buf.len() >= MAX_LINE_LEN {
            Err(FrameError::LineTooLong)
        } else {
            Ok(None)
        };
    };
    let line = &buf[..end];
    Ok(Some((line.strip_suffix(b"\r").unwrap_or(line), end + 1)))
}

/// Checks the bulk string at the front of `buf`: the bytes it takes, or `None` if it is not
/// complete yet.
fn bulk(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let Some((header, start)) = line(buf)? else {
        return Ok(None);
    };
    let Some(len) = header.strip_prefix(b"$") else {
        return Err(FrameError::NotABulkString(
            String::from_utf8_lossy(header).into_owned(),
        ));
    };
    let len = parse_len(len, MAX_BULK_LEN, "bulk length")?;
    // `len` is at most MAX_BULK_LEN, so `start + len + 2` cannot overflow.
    let end = start + len;
    match buf.get(end..end + 2) {
        None => Ok(None),
        Some(b"\r\n") => Ok(Some(end + 2)),
        Some(_) => Err(FrameError::WrongBulkLength { len }),
    }
}

/// Parses a decimal length no larger than `max`.
fn parse_len(digits: &[u8], max: usize, what: &'static str) -> Result<usize, FrameError> {
    decimal(digits)
        .filter(|&len| len <= max)
        .ok_or_else(|| FrameError::InvalidLength {
            what,
            text: String::from_utf8_lossy(digits).into_owned(),
            max,
        })
}

/// The value of a non-empty string of ASCII digits; `None` for anything else (a sign, a space,
/// nothing at all) or a value that does not fit in a `usize`.
fn decimal(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0_usize, |value, &digit| {
        if digit.is_ascii_digit() {
            value
                .checked_mul(10)?
                .checked_add(usize::from(digit - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(buf: &[u8]) -> Option<(Vec<&[u8]>, usize)> {
        let (frame, used) = parse_frame(buf).ok()??;
        Some((frame.args().collect(), used))
    }

    #[test]
    fn a_request_is_parsed_only_once_complete() {
        let request = b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
        for end in 0..request.len() {
            assert_eq!(
                parse_frame(&request[..end]),
                Ok(None),
                "prefix of {end} bytes"
            );
        }
        let expected: Vec<&[u8]> = vec![b"GET", b"hello"];
        assert_eq!(parsed(request), Some((expected, request.len())));
    }

    #[test]
    fn inline_requests_are_split_into_words() {
        let expected: Vec<&[u8]> = vec![b"SET", b"k", b"v"];
        let line = b"  SET k\tv \r\n";
        assert_eq!(
            parsed(&[&line[..], b"GET"].concat()),
            Some((expected, line.len()))
        );
        assert_eq!(parsed(b"\r\n"), Some((vec![], 2)));
    }

    #[test]
    fn malformed_requests_are_errors() {
        for bad in [
            &b"*x\r\n"[..],
            b"*-1\r\n",
            b"*1\r\n$4\r\nPINGXX\r\n",
            b"*1\r\n:4\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$+4\r\nPING\r\n",
            b"*1\r\n$536870913\r\n",
        ] {
            assert!(
                parse_frame(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
