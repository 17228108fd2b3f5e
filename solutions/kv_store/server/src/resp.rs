//! The subset of RESP (the Redis serialisation protocol, version 2) the server speaks.
//!
//! Requests are arrays of bulk strings, `*<count>\r\n` followed by `count` times
//! `$<length>\r\n<bytes>\r\n`; that is what every Redis client sends. For typing by hand (`nc`,
//! `telnet`), a line that does not start with `*` is an *inline* request: words separated by
//! spaces. Replies are simple strings (`+OK`), errors (`-ERR ...`), integers (`:1`), bulk strings
//! (`$5\r\nhello`) and the null bulk string (`$-1`), each ending in `\r\n`.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The longest bulk string accepted, as in Redis (`proto-max-bulk-len`): larger ones are refused
/// before anything is allocated.
pub(crate) const MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// The most arguments a request may have.
const MAX_ARGS: usize = 1024 * 1024;

/// The longest header or inline line accepted.
const MAX_LINE_LEN: usize = 64 * 1024;

/// One reply, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// `+text`: a status such as `OK` or `PONG`.
    Simple(&'static str),
    /// `-ERR text`: the request failed; the connection carries on.
    Error(String),
    /// `:n`
    Integer(u64),
    /// `$len` and the bytes.
    Bulk(String),
    /// `$-1`: no value.
    Null,
}

impl Frame {
    /// Appends the frame's bytes to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Simple(text) => {
                out.push(b'+');
                out.extend_from_slice(text.as_bytes());
            }
            Frame::Error(text) => {
                out.extend_from_slice(b"-ERR ");
                // A line break inside would end the error early and desynchronise the client.
                out.extend(
                    text.bytes()
                        .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
                );
            }
            Frame::Integer(n) => {
                out.push(b':');
                out.extend_from_slice(n.to_string().as_bytes());
            }
            Frame::Bulk(value) => {
                out.push(b'$');
                out.extend_from_slice(value.len().to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(value.as_bytes());
            }
            Frame::Null => out.extend_from_slice(b"$-1"),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Why a request could not be read. After one, the stream's framing is lost: the connection
/// must be closed (after an error reply, which the client may still read).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProtocolError {
    #[error("Protocol error: {0}")]
    Malformed(String),
    #[error("connection lost: {0}")]
    Io(#[from] std::io::Error),
}

fn malformed(reason: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed(reason.into())
}

/// Reads one request: its arguments, or `None` at a clean end of the stream (between requests).
///
/// Not cancel-safe: a request cut off by cancellation is lost, so only cancel when the connection
/// is being closed anyway.
pub(crate) async fn read_request<R>(reader: &mut R) -> Result<Option<Vec<Vec<u8>>>, ProtocolError>
where
    R: AsyncBufRead + Unpin,
{
    let Some(line) = read_line(reader).await? else {
        return Ok(None);
    };
    match line.strip_prefix(b"*") {
        Some(count) => {
            let count = parse_len(count, MAX_ARGS, "array length")?;
            let mut args = Vec::with_capacity(count.min(16));
            for _ in 0..count {
                args.push(read_bulk(reader).await?);
            }
            Ok(Some(args))
        }
        None => Ok(Some(
            line.split(u8::is_ascii_whitespace)
                .filter(|word| !word.is_empty())
                .map(<[u8]>::to_vec)
                .collect(),
        )),
    }
}

/// Reads one bulk string: `$<len>\r\n<bytes>\r\n`.
async fn read_bulk<R>(reader: &mut R) -> Result<Vec<u8>, ProtocolError>
where
    R: AsyncBufRead + Unpin,
{
    let line = read_line(reader)
        .await?
        .ok_or_else(|| malformed("the stream ended inside a request"))?;
    let len = line.strip_prefix(b"$").ok_or_else(|| {
        malformed(format!(
            "expected '$', got {:?}",
            String::from_utf8_lossy(&line)
        ))
    })?;
    let len = parse_len(len, MAX_BULK_LEN, "bulk length")?;
    let mut bytes = vec![0; len + 2];
    reader.read_exact(&mut bytes).await?;
    if !bytes.ends_with(b"\r\n") {
        return Err(malformed(
            "a bulk string is longer than its announced length",
        ));
    }
    bytes.truncate(len);
    Ok(bytes)
}

/// Reads a line ending in `\r\n` (or `\n`), without its line ending; `None` at the end of the
/// stream before any byte.
async fn read_line<R>(reader: &mut R) -> Result<Option<Vec<u8>>, ProtocolError>
where
    R: AsyncBufRead + Unpin,
{
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take(MAX_LINE_LEN as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(if read >= MAX_LINE_LEN {
            malformed("line too long")
        } else {
            malformed("the stream ended inside a request")
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// Parses a decimal length no larger than `max`.
fn parse_len(digits: &[u8], max: usize, what: &str) -> Result<usize, ProtocolError> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|digits| digits.parse::<usize>().ok())
        .filter(|&len| len <= max)
        .ok_or_else(|| {
            malformed(format!(
                "invalid {what} {:?}",
                String::from_utf8_lossy(digits)
            ))
        })
}
