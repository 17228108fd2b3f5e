//! The subset of RESP (the Redis serialisation protocol, version 2) the server and the client
//! speak.
//!
//! Requests are arrays of bulk strings, `*<count>\r\n` followed by `count` times
//! `$<length>\r\n<bytes>\r\n`; that is what every Redis client sends. For typing by hand (`nc`,
//! `telnet`), a line that does not start with `*` is an *inline* request: words separated by
//! spaces. Replies are simple strings (`+OK`), errors (`-ERR ...`), integers (`:1`), bulk strings
//! (`$5\r\nhello`) and the null bulk string (`$-1`), each ending in `\r\n`.
//!
//! Requests are parsed from a byte buffer, without waiting: a parse either finds a whole request
//! at the front of the buffer, or says that more bytes are needed. That lets the server take every
//! complete request a single read delivered (a pipeline) and answer them all at once, without ever
//! waiting for an incomplete one.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use crate::command::{Command, Reply};

/// The longest bulk string accepted, as in Redis (`proto-max-bulk-len`): larger ones are refused
/// before anything is allocated.
const MAX_BULK_LEN: usize = 512 * 1024 * 1024;

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
            Frame::Bulk(value) => encode_bulk(value.as_bytes(), out),
            Frame::Null => out.extend_from_slice(b"$-1"),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `$len\r\nbytes` (without the final `\r\n`).
fn encode_bulk(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'$');
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
}

/// Appends a command as a request: an array of bulk strings.
pub(crate) fn encode_command(command: &Command, out: &mut Vec<u8>) {
    let args: &[&str] = match command {
        Command::Set { key, value } => &["SET", key, value],
        Command::Get { key } => &["GET", key],
        Command::Del { key } => &["DEL", key],
    };
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        encode_bulk(arg.as_bytes(), out);
        out.extend_from_slice(b"\r\n");
    }
}

/// Input that breaks the protocol. After one, the stream's framing is lost: the connection must
/// be closed (after an error reply, which the client may still read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub(crate) struct ProtocolError(String);

fn malformed(reason: impl Into<String>) -> ProtocolError {
    ProtocolError(reason.into())
}

/// A request parsed from the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The request's arguments, the command name first. Empty for an empty inline line.
    pub(crate) args: Vec<Vec<u8>>,
    /// How many bytes of the buffer the request took.
    pub(crate) len: usize,
}

/// Parses the request at the front of `buf`: `Ok(None)` if `buf` does not hold all of it yet.
pub(crate) fn parse_request(buf: &[u8]) -> Result<Option<Parsed>, ProtocolError> {
    let mut cursor = Cursor { buf, pos: 0 };
    let Some(first) = cursor.line()? else {
        return Ok(None);
    };
    let args = match first.strip_prefix(b"*") {
        Some(count) => {
            let count = parse_len(count, MAX_ARGS, "array length")?;
            let mut args = Vec::with_capacity(count.min(16));
            for _ in 0..count {
                match cursor.bulk()? {
                    Some(arg) => args.push(arg.to_vec()),
                    None => return Ok(None),
                }
            }
            args
        }
        None => first
            .split(u8::is_ascii_whitespace)
            .filter(|word| !word.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    };
    Ok(Some(Parsed {
        args,
        len: cursor.pos,
    }))
}

/// Reads through a buffer without consuming it.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The next line without its `\r\n` (or `\n`), or `None` if it is not complete yet.
    fn line(&mut self) -> Result<Option<&'a [u8]>, ProtocolError> {
        let rest = &self.buf[self.pos..];
        let Some(end) = rest.iter().take(MAX_LINE_LEN).position(|&b| b == b'\n') else {
            return if rest.len() >= MAX_LINE_LEN {
                Err(malformed("line too long"))
            } else {
                Ok(None)
            };
        };
        self.pos += end + 1;
        let line = &rest[..end];
        Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
    }

    /// The next bulk string, or `None` if it is not complete yet.
    fn bulk(&mut self) -> Result<Option<&'a [u8]>, ProtocolError> {
        let Some(header) = self.line()? else {
            return Ok(None);
        };
        let len = header.strip_prefix(b"$").ok_or_else(|| {
            malformed(format!(
                "expected '$', got {:?}",
                String::from_utf8_lossy(header)
            ))
        })?;
        let len = parse_len(len, MAX_BULK_LEN, "bulk length")?;
        let rest = &self.buf[self.pos..];
        if rest.len() < len + 2 {
            return Ok(None);
        }
        if &rest[len..len + 2] != b"\r\n" {
            return Err(malformed(
                "a bulk string is longer than its announced length",
            ));
        }
        self.pos += len + 2;
        Ok(Some(&rest[..len]))
    }
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

/// Why a reply could not be read by the client.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReplyError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected reply: {0}")]
    Unexpected(String),
}

/// Reads one reply to a [`Command`]: the reply, or the message of an error reply.
pub(crate) async fn read_reply<R>(reader: &mut R) -> Result<Result<Reply, String>, ReplyError>
where
    R: AsyncBufRead + Unpin,
{
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take(MAX_LINE_LEN as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Err(ReplyError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    let text = String::from_utf8_lossy(&line);
    let text = text.trim_end_matches(['\r', '\n']);
    let unexpected = || ReplyError::Unexpected(text.to_owned());
    let (kind, rest) = text.split_at_checked(1).ok_or_else(unexpected)?;
    Ok(match kind {
        "+" if rest == "OK" => Ok(Reply::Ok),
        "-" => Err(rest.to_owned()),
        ":" => Ok(Reply::Deleted(rest.parse().map_err(|_| unexpected())?)),
        "$" if rest == "-1" => Ok(Reply::Nil),
        "$" => {
            let len: usize = rest.parse().map_err(|_| unexpected())?;
            let mut bytes = vec![0; len + 2];
            reader.read_exact(&mut bytes).await?;
            bytes.truncate(len);
            let value = String::from_utf8(bytes)
                .map_err(|_| ReplyError::Unexpected("a value that is not UTF-8".to_owned()))?;
            Ok(Reply::Value(value))
        }
        _ => return Err(unexpected()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(parsed: &Parsed) -> Vec<&str> {
        parsed
            .args
            .iter()
            .map(|arg| std::str::from_utf8(arg).unwrap_or("<binary>"))
            .collect()
    }

    #[test]
    fn a_request_is_parsed_only_once_complete() {
        let request = b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
        for end in 0..request.len() {
            assert_eq!(
                parse_request(&request[..end]),
                Ok(None),
                "prefix of {end} bytes"
            );
        }
        let parsed = parse_request(request).ok().flatten();
        assert_eq!(parsed.as_ref().map(args), Some(vec!["GET", "hello"]));
        assert_eq!(parsed.map(|p| p.len), Some(request.len()));
    }

    #[test]
    fn pipelined_requests_are_parsed_one_at_a_time() {
        let buf = b"PING\r\n*1\r\n$4\r\nPING\r\n*2";
        let first = parse_request(buf).ok().flatten();
        assert_eq!(first.as_ref().map(args), Some(vec!["PING"]));
        let second = first.and_then(|first| parse_request(&buf[first.len..]).ok().flatten());
        assert_eq!(second.as_ref().map(|p| p.len), Some(14));
    }

    #[test]
    fn malformed_requests_are_errors() {
        for bad in [&b"*x\r\n"[..], b"*1\r\n$4\r\nPINGXX\r\n", b"*1\r\n:4\r\n"] {
            assert!(
                parse_request(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
