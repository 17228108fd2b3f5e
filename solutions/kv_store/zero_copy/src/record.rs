//! The on-disk record format, and how a log file is scanned record by record.
//!
//! A record is a 16-byte header followed by the key and the value:
//!
//! ```text
//! offset  size  field
//!      0     4  header checksum: CRC-32 of bytes 4..12
//!      4     4  key length, little-endian
//!      8     4  value length, little-endian; u32::MAX marks a removal (no value bytes)
//!     12     4  body checksum: CRC-32 of the key and value bytes
//!     16     -  key bytes, then value bytes (UTF-8)
//! ```
//!
//! The lengths have their own checksum so that a damaged length is recognised as damage, and not
//! mistaken for a record that runs past the end of the file (which is what a torn write looks
//! like). Binary lengths mean keys and values need no escaping.

use std::fs::File;
use std::io::{self, BufReader, Read};

/// The length of a record header.
pub(crate) const HEADER_LEN: usize = 16;

/// The value length that marks a removal.
const REMOVAL: u32 = u32::MAX;

/// One change to the store.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Record<'a> {
    /// The key now has this value.
    Set { key: &'a str, value: &'a str },
    /// The key no longer has a value.
    Remove { key: &'a str },
}

/// A record read back from disk.
#[derive(Debug)]
pub(crate) enum OwnedRecord {
    Set { key: String, value: String },
    Remove { key: String },
}

/// A key or value too long for the format's 32-bit lengths.
#[derive(Debug)]
pub(crate) struct TooLarge {
    pub(crate) what: &'static str,
    pub(crate) len: usize,
}

/// Encodes `record`, header and body, ready to be appended in one write.
pub(crate) fn encode(record: Record<'_>) -> Result<Vec<u8>, TooLarge> {
    let (key, value) = match record {
        Record::Set { key, value } => (key, Some(value)),
        Record::Remove { key } => (key, None),
    };
    let key_len = length("key", key.len(), u32::MAX)?;
    // One less than the maximum: u32::MAX is the removal marker.
    let value_len = match value {
        Some(value) => length("value", value.len(), REMOVAL - 1)?,
        None => REMOVAL,
    };
    let mut bytes = Vec::with_capacity(HEADER_LEN + key.len() + value.map_or(0, str::len));
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&key_len.to_le_bytes());
    bytes.extend_from_slice(&value_len.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(key.as_bytes());
    bytes.extend_from_slice(value.unwrap_or_default().as_bytes());
    let header_crc = crc32fast::hash(&bytes[4..12]);
    let body_crc = crc32fast::hash(&bytes[HEADER_LEN..]);
    bytes[0..4].copy_from_slice(&header_crc.to_le_bytes());
    bytes[12..16].copy_from_slice(&body_crc.to_le_bytes());
    Ok(bytes)
}

fn length(what: &'static str, len: usize, max: u32) -> Result<u32, TooLarge> {
    u32::try_from(len)
        .ok()
        .filter(|&len| len <= max)
        .ok_or(TooLarge { what, len })
}

/// The fields of a header whose checksum matched.
struct Header {
    key_len: usize,
    value_len: Option<usize>,
    body_crc: u32,
}

impl Header {
    fn body_len(&self) -> usize {
        self.key_len + self.value_len.unwrap_or(0)
    }
}

/// Parses a header; `None` if its checksum does not match.
fn parse_header(bytes: &[u8; HEADER_LEN]) -> Option<Header> {
    let field =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if field(0) != crc32fast::hash(&bytes[4..12]) {
        return None;
    }
    let value_len = field(8);
    Some(Header {
        key_len: field(4) as usize,
        value_len: (value_len != REMOVAL).then_some(value_len as usize),
        body_crc: field(12),
    })
}

/// Decodes one whole record held in `bytes` (as read back through the keydir), checking both
/// checksums. The error says what is wrong.
pub(crate) fn decode(bytes: &[u8]) -> Result<OwnedRecord, String> {
    let header: &[u8; HEADER_LEN] = bytes
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or("the record is shorter than its header")?;
    let header = parse_header(header).ok_or("the record header's checksum does not match")?;
    let body = &bytes[HEADER_LEN..];
    if body.len() != header.body_len() {
        return Err("the record's length does not match its header".to_owned());
    }
    decode_body(&header, body)
}

/// Checks the body checksum and splits the body into key and value.
fn decode_body(header: &Header, body: &[u8]) -> Result<OwnedRecord, String> {
    if crc32fast::hash(body) != header.body_crc {
        return Err("the record's checksum does not match its content".to_owned());
    }
    let (key, value) = body.split_at(header.key_len);
    let text = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|err| format!("the record holds invalid UTF-8: {err}"))
    };
    let key = text(key)?;
    Ok(match header.value_len {
        Some(_) => OwnedRecord::Set {
            key,
            value: text(value)?,
        },
        None => OwnedRecord::Remove { key },
    })
}

/// What the scanner found at the current offset of a log file.
#[derive(Debug)]
pub(crate) enum Scanned {
    /// A complete, intact record of `len` bytes.
    Record { record: OwnedRecord, len: usize },
    /// The end of the file, right after a complete record.
    End,
    /// The file ends with an incomplete record, or with zeros: what an interrupted append leaves.
    /// Everything from the current offset on should be dropped.
    Torn,
    /// Bytes that no interrupted append can produce: damage.
    Corrupt(String),
}

/// Reads the records of one log file in order.
pub(crate) struct Scanner {
    reader: BufReader<File>,
    /// Where the next record starts.
    offset: u64,
    /// The file's length when scanning started.
    file_len: u64,
}

impl Scanner {
    pub(crate) fn new(file: File) -> io::Result<Scanner> {
        let file_len = file.metadata()?.len();
        Ok(Scanner {
            reader: BufReader::new(file),
            offset: 0,
            file_len,
        })
    }

    /// Where the next record starts: after a `Torn` result, the length to truncate the file to.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next record. After anything but a `Record`, the scan is over.
    pub(crate) fn next_record(&mut self) -> io::Result<Scanned> {
        let remaining = self.file_len - self.offset;
        if remaining == 0 {
            return Ok(Scanned::End);
        }
        if remaining < HEADER_LEN as u64 {
            return Ok(Scanned::Torn);
        }
        let mut header_bytes = [0; HEADER_LEN];
        self.reader.read_exact(&mut header_bytes)?;
        let Some(header) = parse_header(&header_bytes) else {
            return self.bad_header(&header_bytes);
        };
        let len = HEADER_LEN + header.body_len();
        if len as u64 > remaining {
            // The header is intact, so the length is true: the rest was never written.
            return Ok(Scanned::Torn);
        }
        let mut body = vec![0; header.body_len()];
        self.reader.read_exact(&mut body)?;
        match decode_body(&header, &body) {
            Ok(record) => {
                self.offset += len as u64;
                Ok(Scanned::Record { record, len })
            }
            // The last record may have been allocated on disk but not fully written.
            Err(_) if len as u64 == remaining => Ok(Scanned::Torn),
            Err(reason) => Ok(Scanned::Corrupt(reason)),
        }
    }

    /// A header whose checksum does not match is a torn tail only if it and everything after it
    /// are zeros (a file extended by a crash before its data was written); otherwise it is damage.
    fn bad_header(&mut self, header: &[u8; HEADER_LEN]) -> io::Result<Scanned> {
        let damaged = || Scanned::Corrupt("a record header's checksum does not match".to_owned());
        if header.iter().any(|&byte| byte != 0) {
            return Ok(damaged());
        }
        let mut chunk = [0; 8192];
        loop {
            let read = self.reader.read(&mut chunk)?;
            if read == 0 {
                return Ok(Scanned::Torn);
            }
            if chunk[..read].iter().any(|&byte| byte != 0) {
                return Ok(damaged());
            }
        }
    }
}
