//! The subset of RESP (the Redis serialisation protocol, version 2) the server and the client
//! speak.
//!
//! Requests are arrays of bulk strings, `*<count>\r\n` followed by `count` times
//! `$<length>\r\n<bytes>\r\n`; the client encodes them here, and the server parses them, without
//! copying, in [`frame`](crate::frame). Replies are simple strings (`+OK`), errors (`-ERR ...`),
//! integers (`:1`), bulk strings (`$5\r\nhello`) and the null bulk string (`$-1`), each ending in
//! `\r\n`.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use crate::command::{Command, Reply};

/// The longest reply line accepted.
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
    // A number that does not parse: the reply, and what the parser said of it.
    let bad_number =
        |err: std::num::ParseIntError| ReplyError::Unexpected(format!("{text} ({err})"));
    let (kind, rest) = text.split_at_checked(1).ok_or_else(unexpected)?;
    Ok(match kind {
        "+" if rest == "OK" => Ok(Reply::Ok),
        "-" => Err(rest.to_owned()),
        ":" => Ok(Reply::Deleted(rest.parse().map_err(bad_number)?)),
        "$" if rest == "-1" => Ok(Reply::Nil),
        "$" => {
            let len: usize = rest.parse().map_err(bad_number)?;
            let mut bytes = vec![0; len + 2];
            reader.read_exact(&mut bytes).await?;
            bytes.truncate(len);
            let value = String::from_utf8(bytes).map_err(|err| {
                ReplyError::Unexpected(format!("a value that is not UTF-8: {err}"))
            })?;
            Ok(Reply::Value(value))
        }
        _ => return Err(unexpected()),
    })
}
