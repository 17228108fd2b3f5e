//! The text protocol: one command per line, parsed with [`FromStr`] and written back with
//! [`Display`].
//!
//! The grammar, in full:
//!
//! ```text
//! SET <key> <value...>   the value is the rest of the line, inner whitespace kept
//! GET <key>
//! DEL <key>
//! ```
//!
//! Verbs are case-insensitive; keys and values are not. Whitespace around the line and between
//! the tokens is ignored, so keys cannot contain whitespace and values cannot start or end with
//! it.

use std::fmt;
use std::str::FromStr;

/// A request to the store, as parsed from one line of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `SET key value`: store `value` under `key`.
    Set { key: String, value: String },
    /// `GET key`: read the value of `key`.
    Get { key: String },
    /// `DEL key`: remove `key`.
    Del { key: String },
}

/// The outcome of executing a [`Command`].
///
/// The variants follow what Redis answers to the same commands, so that a network server can
/// later send them to Redis clients unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `SET` stored the value.
    Ok,
    /// `GET` found this value.
    Value(String),
    /// `GET` found no value for the key.
    Nil,
    /// `DEL` removed this many keys: 1 if the key had a value, 0 if not.
    Deleted(u64),
}

/// Why a line is not a valid [`Command`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The line was empty or held only whitespace.
    #[error("empty command: expected SET, GET or DEL")]
    Empty,
    /// The first word is not a verb we know.
    #[error("unknown command {0:?}: expected SET, GET or DEL")]
    UnknownCommand(String),
    /// A required argument is missing.
    #[error("{command} is missing its {argument}: usage is `{}`", usage(.command))]
    MissingArgument {
        /// The verb, upper-case.
        command: &'static str,
        /// The name of the missing argument.
        argument: &'static str,
    },
    /// More arguments than the command takes.
    #[error(
        "{command} takes exactly one key, but got extra arguments {extra:?}: usage is `{}`",
        usage(.command)
    )]
    TooManyArguments {
        /// The verb, upper-case.
        command: &'static str,
        /// The unexpected part of the line.
        extra: String,
    },
}

/// The correct form of `command`, for error messages.
fn usage(command: &str) -> &'static str {
    match command {
        "SET" => "SET key value",
        "GET" => "GET key",
        _ => "DEL key",
    }
}

impl FromStr for Command {
    type Err = CommandError;

    fn from_str(line: &str) -> Result<Command, CommandError> {
        let (verb, args) = split_first_word(line.trim());
        if verb.is_empty() {
            Err(CommandError::Empty)
        } else if verb.eq_ignore_ascii_case("SET") {
            parse_set(args)
        } else if verb.eq_ignore_ascii_case("GET") {
            let key = single_key("GET", args)?;
            Ok(Command::Get { key })
        } else if verb.eq_ignore_ascii_case("DEL") {
            let key = single_key("DEL", args)?;
            Ok(Command::Del { key })
        } else {
            Err(CommandError::UnknownCommand(verb.to_owned()))
        }
    }
}

/// Parses the arguments of `SET`: a key, then the rest of the line as the value.
fn parse_set(args: &str) -> Result<Command, CommandError> {
    let (key, value) = split_first_word(args);
    let missing = |argument| CommandError::MissingArgument {
        command: "SET",
        argument,
    };
    if key.is_empty() {
        return Err(missing("key"));
    }
    if value.is_empty() {
        return Err(missing("value"));
    }
    Ok(Command::Set {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

/// Parses the arguments of a command that takes exactly one key.
fn single_key(command: &'static str, args: &str) -> Result<String, CommandError> {
    match split_first_word(args) {
        ("", _) => Err(CommandError::MissingArgument {
            command,
            argument: "key",
        }),
        (key, "") => Ok(key.to_owned()),
        (_, extra) => Err(CommandError::TooManyArguments {
            command,
            extra: extra.to_owned(),
        }),
    }
}

/// Splits `text` (already trimmed at its start) into its first word and the rest, with the
/// whitespace between them removed. Both parts are empty for an empty `text`.
fn split_first_word(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

impl fmt::Display for Command {
    /// Writes the command as the line that parses back into it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Set { key, value } => write!(f, "SET {key} {value}"),
            Command::Get { key } => write!(f, "GET {key}"),
            Command::Del { key } => write!(f, "DEL {key}"),
        }
    }
}
