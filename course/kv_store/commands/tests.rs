//! Stage `commands`: parse `SET k v` / `GET k` / `DEL k` into a `Command`, report bad lines as a
//! `CommandError`, and execute commands against the store.

use kv_store::{Command, CommandError, KvStore, Reply};

fn set(key: &str, value: &str) -> Command {
    Command::Set {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn get(key: &str) -> Command {
    Command::Get {
        key: key.to_owned(),
    }
}

fn del(key: &str) -> Command {
    Command::Del {
        key: key.to_owned(),
    }
}

/// Parses `line`, failing the test with a message that names the line if it does not parse.
fn parse(line: &str) -> Command {
    match line.parse::<Command>() {
        Ok(command) => command,
        Err(err) => panic!("{line:?} is a valid command but parsing failed with: {err}"),
    }
}

/// Parses `line`, failing the test if it parses: it must be rejected.
fn parse_err(line: &str) -> CommandError {
    match line.parse::<Command>() {
        Ok(command) => panic!("{line:?} is not a valid command but it parsed as {command:?}"),
        Err(err) => err,
    }
}

#[test]
fn parses_each_verb() {
    assert_eq!(
        parse("SET a 1"),
        set("a", "1"),
        "\"SET a 1\" should parse as a Set"
    );
    assert_eq!(parse("GET a"), get("a"), "\"GET a\" should parse as a Get");
    assert_eq!(parse("DEL a"), del("a"), "\"DEL a\" should parse as a Del");
}

#[test]
fn verbs_are_case_insensitive_but_keys_and_values_are_not() {
    assert_eq!(
        parse("set Key Value"),
        set("Key", "Value"),
        "the verb \"set\" is SET in lower case; the key and value keep their case"
    );
    assert_eq!(
        parse("Get Key"),
        get("Key"),
        "\"Get\" is GET; the key keeps its case"
    );
    assert_eq!(
        parse("dEl KEY"),
        del("KEY"),
        "\"dEl\" is DEL; the key keeps its case"
    );
}

#[test]
fn the_value_is_the_rest_of_the_line_with_inner_spaces_kept() {
    assert_eq!(
        parse("SET greeting hello world"),
        set("greeting", "hello world"),
        "the value of SET is everything after the key, spaces included"
    );
    assert_eq!(
        parse("SET spaced a  b   c"),
        set("spaced", "a  b   c"),
        "whitespace inside the value must be kept exactly (two and three spaces here): is the \
         value rebuilt from split words instead of taken as the rest of the line?"
    );
    assert_eq!(
        parse("SET k GET x"),
        set("k", "GET x"),
        "a value that looks like a command is still just a value"
    );
}

#[test]
fn whitespace_around_and_between_tokens_is_ignored() {
    assert_eq!(
        parse("  GET a  "),
        get("a"),
        "whitespace around the line should be ignored"
    );
    assert_eq!(
        parse("GET a\r\n"),
        get("a"),
        "a line read from a socket or a file may end in \"\\r\\n\"; it should be ignored"
    );
    assert_eq!(
        parse("GET   a"),
        get("a"),
        "several spaces between the verb and the key separate them like one: the key is \"a\", \
         not \"\" or \"  a\""
    );
    assert_eq!(
        parse("SET\tkey\tvalue"),
        set("key", "value"),
        "tabs separate tokens like spaces do"
    );
    assert_eq!(
        parse("SET key   value  \n"),
        set("key", "value"),
        "whitespace between the key and the value, and at the end of the line, is not part of \
         the value"
    );
}

#[test]
fn unicode_keys_and_values_parse() {
    assert_eq!(
        parse("SET clé 🔑 ouverte"),
        set("clé", "🔑 ouverte"),
        "keys and values may hold any non-ASCII text"
    );
}

#[test]
fn an_empty_line_is_the_empty_error() {
    for line in ["", "   ", "\t\r\n"] {
        let err = parse_err(line);
        assert!(
            matches!(err, CommandError::Empty),
            "{line:?} holds no command and should be CommandError::Empty, but was {err:?}"
        );
    }
}

#[test]
fn an_unknown_verb_is_reported_with_its_name() {
    for (line, verb) in [("PUT a 1", "PUT"), ("GETS a", "GETS"), ("SETa 1", "SETa")] {
        let err = parse_err(line);
        assert!(
            matches!(err, CommandError::UnknownCommand { .. }),
            "{line:?} starts with the unknown verb {verb:?} and should be \
             CommandError::UnknownCommand, but was {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(verb),
            "the message for an unknown command should name it ({verb:?}) so the user sees what \
             was wrong, but it was {message:?}"
        );
    }
}

#[test]
fn missing_arguments_are_reported() {
    for line in ["GET", "DEL", "SET", "SET key", "set key   ", "get  "] {
        let err = parse_err(line);
        assert!(
            matches!(err, CommandError::MissingArgument { .. }),
            "{line:?} lacks an argument and should be CommandError::MissingArgument, but was \
             {err:?}"
        );
    }
    // Two different mistakes: a SET with no key and a SET with no value must say which.
    let (no_key, no_value) = (
        parse_err("SET").to_string(),
        parse_err("SET key").to_string(),
    );
    assert_ne!(
        no_key, no_value,
        "\"SET\" lacks its key and \"SET key\" lacks its value: their messages should say \
         which argument is missing, but both were {no_key:?}"
    );
}

#[test]
fn extra_arguments_are_reported() {
    for line in ["GET a b", "DEL a b", "get a  b  c"] {
        let err = parse_err(line);
        assert!(
            matches!(err, CommandError::TooManyArguments { .. }),
            "{line:?} gives more than one key and should be CommandError::TooManyArguments \
             (silently ignoring the extra words hides the user's mistake), but was {err:?}"
        );
    }
    let message = parse_err("get a  bravo  charlie").to_string();
    assert!(
        message.contains("bravo") && message.contains("charlie"),
        "the error for \"get a  bravo  charlie\" should name every extra argument (\"bravo\" and \
         \"charlie\"), so the user sees all that is wrong, but was {message:?}"
    );
}

#[test]
fn errors_are_std_errors_with_distinct_messages() {
    fn message<E: std::error::Error>(err: &E) -> String {
        err.to_string()
    }
    let messages = [
        message(&parse_err("")),
        message(&parse_err("PUT a 1")),
        message(&parse_err("GET")),
        message(&parse_err("GET a b")),
    ];
    for (i, m) in messages.iter().enumerate() {
        assert!(
            !m.trim().is_empty(),
            "every CommandError should display a message, but error #{i} displayed {m:?}"
        );
        for other in &messages[i + 1..] {
            assert_ne!(
                m, other,
                "different mistakes should display different messages, but two displayed {m:?}"
            );
        }
    }
}

#[test]
fn display_writes_a_line_that_parses_back() {
    let commands = [
        set("a", "1"),
        set("greeting", "hello  wide world"),
        set("clé", "🔑"),
        get("a"),
        get("KEY"),
        del("a"),
    ];
    for command in commands {
        let line = command.to_string();
        let back = line.parse::<Command>().ok();
        assert_eq!(
            back,
            Some(command.clone()),
            "{command:?} displayed as {line:?}, which should parse back to the same command"
        );
    }
}

#[test]
fn execute_answers_like_redis() {
    let mut store = KvStore::new();
    assert_eq!(
        store.execute(get("a")),
        Reply::Nil,
        "GET of a missing key replies Nil"
    );
    assert_eq!(store.execute(set("a", "1")), Reply::Ok, "SET replies Ok");
    assert_eq!(
        store.execute(get("a")),
        Reply::Value("1".to_owned()),
        "GET after SET a 1 replies Value(\"1\")"
    );
    assert_eq!(
        store.execute(del("a")),
        Reply::Deleted(1),
        "DEL of a key that had a value replies Deleted(1)"
    );
    assert_eq!(
        store.execute(del("a")),
        Reply::Deleted(0),
        "DEL of a key with no value replies Deleted(0)"
    );
    assert_eq!(
        store.execute(get("a")),
        Reply::Nil,
        "GET after DEL replies Nil: did DEL remove the key?"
    );
}

#[test]
fn execute_works_on_the_same_data_as_the_methods() {
    let mut store = KvStore::new();
    store.set("a".to_owned(), "from set".to_owned());
    assert_eq!(
        store.execute(get("a")),
        Reply::Value("from set".to_owned()),
        "a value stored with set() should be visible to GET"
    );
    store.execute(set("b", "from SET"));
    assert_eq!(
        store.get("b"),
        Some("from SET".to_owned()),
        "a value stored with SET should be visible to get()"
    );
}

#[test]
fn execute_line_runs_a_script() {
    let mut store = KvStore::new();
    let script = [
        ("SET name Ada Lovelace", Reply::Ok),
        ("get name", Reply::Value("Ada Lovelace".to_owned())),
        ("SET name Grace Hopper", Reply::Ok),
        ("GET name", Reply::Value("Grace Hopper".to_owned())),
        ("DEL name", Reply::Deleted(1)),
        ("GET name", Reply::Nil),
        ("DEL name", Reply::Deleted(0)),
    ];
    for (line, expected) in script {
        match store.execute_line(line) {
            Ok(reply) => assert_eq!(reply, expected, "{line:?} should reply {expected:?}"),
            Err(err) => panic!("{line:?} is valid but execute_line failed with: {err}"),
        }
    }
}

#[test]
fn execute_line_rejects_bad_lines_and_leaves_the_store_unchanged() {
    let mut store = KvStore::new();
    store.set("a".to_owned(), "1".to_owned());
    for line in ["SET a", "DEL a b", "FLUSHALL", ""] {
        let result = store.execute_line(line);
        assert!(
            result.is_err(),
            "{line:?} is not a valid command, so execute_line should return Err, but got \
             {result:?}"
        );
    }
    assert_eq!(
        store.get("a"),
        Some("1".to_owned()),
        "rejected lines must not change the store: \"a\" should still be \"1\""
    );
}
