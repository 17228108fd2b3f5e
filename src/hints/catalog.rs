//! The built-in catalog: questions about the Rust concept behind a compiler error.
//!
//! Rungs are templates. `{name|fallback}` becomes the first item the diagnostic names, in
//! backticks (`entry`), or the fallback when it names none; `{ref|fallback}` a reference to it
//! (`&entry`); `{line|fallback}` "line 42", the line the compiler points at; `{moved|fallback}`
//! the line where the value was moved. Every rung but the last is a question; the last is the
//! nudge. Code in a rung uses only the learner's own names (through the slots), standard
//! names, or `…`: a made-up `value` would read as the learner's variable of that name.

/// A ladder for one kind of compiler error.
#[derive(Debug)]
pub struct CodeLadder {
    /// The error code this entry answers, e.g. `E0382`; empty for errors without a code.
    pub code: &'static str,
    /// Only when the message contains this (e.g. E0277 from `?` vs from `Send`).
    pub when_message_has: Option<&'static str>,
    /// A stable key for progress records, e.g. `E0277-send`.
    pub key: &'static str,
    /// The concept (from the course vocabulary) the error is about.
    pub concept: &'static str,
    pub rungs: &'static [&'static str],
}

macro_rules! ladder {
    ($code:literal, $key:literal, $concept:literal, [$($rung:literal),+ $(,)?]) => {
        CodeLadder { code: $code, when_message_has: None, key: $key, concept: $concept, rungs: &[$($rung),+] }
    };
    ($code:literal if $has:literal, $key:literal, $concept:literal, [$($rung:literal),+ $(,)?]) => {
        CodeLadder { code: $code, when_message_has: Some($has), key: $key, concept: $concept, rungs: &[$($rung),+] }
    };
}

/// The catalog. Entries with a message condition come before the general entry of their code.
pub static CATALOG: &[CodeLadder] = &[
    // Ownership
    ladder!(
        "E0382",
        "E0382",
        "ownership",
        [
            "A value in Rust has exactly one owner. Who owns {name|the value} after {moved|the line that moves it}, and who wants it again at {line|the line the compiler points at}?",
            "What does {moved|that earlier line} do with {name|the value}: pass it by value to a function, or move it into another variable or collection?",
            "Does that earlier use need to own {name|the value}, or would a borrow (`&`) do? If both places truly need their own copy, what would that cost?",
            "Nudge: pass {ref|a reference (`&`)} where ownership is not needed, or call `.clone()` where two owners are really wanted.",
        ]
    ),
    ladder!(
        "E0505",
        "E0505",
        "ownership",
        [
            "A borrow promises the value stays put while it is used. Which borrow of {name|the value} is still alive when it is moved?",
            "Where is the last use of that borrow - and could the move happen after it?",
            "Nudge: end the borrow before the move (use the reference first, or copy out what you need from it), then move.",
        ]
    ),
    ladder!(
        "E0507",
        "E0507",
        "ownership",
        [
            "You have a reference, not the value itself. Can you take ownership of something you only borrowed?",
            "Do you need to own {name|the value} here, or only to read it, or to leave something else in its place?",
            "Nudge: borrow it (`&`), `.clone()` it, or use `std::mem::take` / `Option::take` to move it out and leave a value behind.",
        ]
    ),
    ladder!(
        "E0509",
        "E0509",
        "ownership",
        [
            "The type implements `Drop`: what would its destructor see if one of its fields had been moved out?",
            "Nudge: move the field out with `std::mem::take` or `std::mem::replace`, which leave a valid value behind.",
        ]
    ),
    ladder!(
        "E0373",
        "E0373",
        "concurrency",
        [
            "The closure may run after this function returns - on another thread, or in a task. What happens to the locals it borrows when the function ends?",
            "Should the closure borrow {name|the variable} or own it? What would it need to own to be safe on its own?",
            "Nudge: write `move |...|` (or `async move`) so the closure takes ownership; clone an `Arc` first if others need it too.",
        ]
    ),
    // Borrowing
    ladder!(
        "E0499",
        "E0499",
        "borrowing",
        [
            "Rust allows one mutable borrow at a time. Which two `&mut` borrows of {name|the value} overlap here?",
            "Where does the first mutable borrow end? Does it live longer than you thought, e.g. held in a variable or an iterator?",
            "Nudge: finish with the first `&mut` before taking the second; split the work into two steps, or use methods like `split_at_mut` or the map's `entry` API.",
        ]
    ),
    ladder!(
        "E0502",
        "E0502",
        "borrowing",
        [
            "You may have many readers or one writer, never both at once. Which shared borrow of {name|the value} is still alive when it is borrowed mutably?",
            "Is the shared borrow used after {line|the mutable borrow}? Could you copy out what you need from it first?",
            "Nudge: end the shared borrow before mutating - e.g. clone the key, or compute a value first and then call the `&mut self` method.",
        ]
    ),
    ladder!(
        "E0596",
        "E0596",
        "borrowing",
        [
            "Is {name|the value} declared as something that may change?",
            "Does the method you call take `&mut self`? Then what must the binding, or the reference you hold, be?",
            "Nudge: declare it `let mut`, or take `&mut self` / `&mut T` instead of `&self` / `&T` in the signature.",
        ]
    ),
    ladder!(
        "E0384",
        "E0384",
        "borrowing",
        [
            "Bindings are immutable by default. Did you mean {name|this variable} to change after it was first set?",
            "Nudge: declare it with `let mut`, or shadow it with a new `let` if the new value is really a new thing.",
        ]
    ),
    ladder!(
        "E0506",
        "E0506",
        "borrowing",
        [
            "Something still borrows {name|the value} while you assign to it. Which reference would suddenly point at a different value?",
            "Nudge: make the assignment after the last use of the borrow.",
        ]
    ),
    ladder!(
        "E0594",
        "E0594",
        "borrowing",
        [
            "You reach {name|the field} through a shared reference. May anything be changed through `&`?",
            "Nudge: take `&mut` (e.g. `&mut self`), or use interior mutability (`Cell`, `RefCell`, `Mutex`) if shared mutation is the design.",
        ]
    ),
    // Lifetimes
    ladder!(
        "E0106",
        "E0106",
        "lifetimes",
        [
            "A returned or stored reference must point into something that lives long enough. Which input does the reference in this signature borrow from - or, in a struct, what does the field borrow?",
            "If it could borrow from more than one input, how would the compiler - or a reader - know which? And a struct that holds a reference: what must its users know about how long it may be kept?",
            "Nudge: name the lifetime: `struct …<'a> { …: &'a [u8] }` for a type that borrows, `fn …<'a>(…: &'a T, …: &U) -> &'a V` for a function; or own the data instead (`Vec<u8>`, `String`).",
        ]
    ),
    ladder!(
        "E0597",
        "E0597",
        "lifetimes",
        [
            "{name|The value} is dropped at the end of its scope. Who still holds a reference to it after that?",
            "Could the value live in an outer scope, or could the holder own a copy instead of a reference?",
            "Nudge: move the value's declaration out so it outlives the borrow, or store an owned value (`.to_owned()`, `.clone()`).",
        ]
    ),
    ladder!(
        "E0716",
        "E0716",
        "lifetimes",
        [
            "The value is a temporary: it is dropped at the end of the statement. What still points at it afterwards?",
            "Nudge: bind the temporary to a `let` variable first, so it lives until the end of the block.",
        ]
    ),
    ladder!(
        "E0515",
        "E0515",
        "lifetimes",
        [
            "The function returns a reference to something created inside it. What happens to that thing when the function returns?",
            "Who should own the result once the function is done? Or does the data really live in something the caller gave you, and only the lifetime in a signature ties the result to a local (such as an iterator borrowing `&self`)?",
            "Nudge: return the owned value (`String`, `Vec<T>`); or, when the data lives in an input, give the result that input's lifetime (`type Item = &'a [u8]`, `fn args(&self) -> Args<'a>`) instead of the local's.",
        ]
    ),
    ladder!(
        "E0621",
        "E0621",
        "lifetimes",
        [
            "The signature promises a reference with one lifetime but returns data borrowed from another. Which input does the result really come from?",
            "Nudge: give that parameter and the result the same named lifetime `'a`.",
        ]
    ),
    // Lifetime errors rustc reports without a code.
    ladder!("" if "lifetime may not live long enough", "lifetime-too-short", "lifetimes", [
        "The signature promises a reference that lives for one lifetime, and the body returns one that lives for a shorter one. Which two lifetimes does the message name, and where does each come from?",
        "Does the returned reference come from `&self` (or `&mut self`) when the signature promises the lifetime of the data behind it, `'a`?",
        "Nudge: copy the `&'a` reference out of the struct (`self.bytes`, not `&self.bytes` or `&self`) so the result carries `'a`; or change the signature to the lifetime the data really has.",
    ]),
    ladder!("" if "declared without lifetime parameters", "associated-type-lifetime", "lifetimes", [
        "An associated type such as `Iterator::Item` names one type for all calls. Which lifetime could an elided `&[u8]` there borrow from, when no function signature is around it?",
        "Nudge: take the lifetime from the implemented type: `impl<'a> Iterator for Args<'a> { type Item = &'a [u8]; ... }`.",
    ]),
    ladder!("" if "signature doesn't match `trait` item signature", "impl-signature-lifetimes", "lifetimes", [
        "The trait fixes the method's signature. In the `found` signature, which lifetime does your return type carry - the `&mut self` borrow's (`'1`), or the data's?",
        "Nudge: write the signature exactly as the trait has it, with its associated type: `fn next(&mut self) -> Option<Self::Item>`.",
    ]),
    // Traits and generics
    ladder!("E0277" if "`?`", "E0277-question-mark", "errors", [
        "`?` returns early with the error. What does the function it sits in return - a `Result` or an `Option`, and with which error type?",
        "Can the error type you get here be turned into the error type your function returns? What trait does `?` use for that conversion?",
        "Nudge: return `Result<T, YourError>` and `impl From<TheirError> for YourError` (or use `.map_err(...)`) so `?` can convert.",
    ]),
    ladder!("E0277" if "cannot be sent between threads safely", "E0277-send", "concurrency", [
        "This value crosses to another thread or task. What could go wrong if two threads used {name|it} at the same time?",
        "Which part of the type is not `Send` - an `Rc`, a `RefCell`, a raw pointer, a `MutexGuard` held across an `.await`?",
        "Nudge: use the thread-safe counterpart (`Arc` for `Rc`, `Mutex`/`RwLock` for `RefCell`), or drop guards before `.await`.",
    ]),
    ladder!("E0277" if "cannot be shared between threads safely", "E0277-sync", "concurrency", [
        "Several threads hold a reference to this value. Is it safe for them to read and change it at the same time?",
        "Which field lets you change it through `&` without a lock - a `Cell` or `RefCell`?",
        "Nudge: wrap shared mutable state in a `Mutex` or `RwLock` (or use atomics) so `&T` is safe to share: that makes it `Sync`.",
    ]),
    ladder!(
        "E0277",
        "E0277",
        "traits",
        [
            "The compiler needs a trait that the type does not implement. Which trait, and for which type?",
            "Is the type the one you meant (a reference `&T` where you meant `T`)? Or should the type implement the trait - or the generic require it as a bound?",
            "Nudge: add `#[derive(...)]` for a derivable trait, write `impl Trait for Type`, or add the bound: `fn …<T: Trait>(…)`.",
        ]
    ),
    ladder!(
        "E0599",
        "E0599",
        "traits",
        [
            "There is no method {name|of that name} on this type. Is it defined on this type, or on another one (e.g. on `Option<T>` rather than `T`)?",
            "If the method comes from a trait: is the trait implemented for this type, and is it in scope with `use`? If the brief asks for it: have you written it yet?",
            "Nudge: check the exact type with the compiler's message; add the method in an `impl` block, or `use` the trait that provides it.",
        ]
    ),
    ladder!(
        "E0308",
        "E0308",
        "traits",
        [
            "The compiler expected one type and found another. Which two types, and which one did you mean?",
            "Is it a reference vs a value (`&str` vs `String`), an `Option`/`Result` vs what is inside, or a missing conversion?",
            "Nudge: convert explicitly: `.to_string()`, `&…`, `Some(…)`, `Ok(…)`, `.into()` - whichever matches the expected type.",
        ]
    ),
    ladder!(
        "E0369",
        "E0369",
        "traits",
        [
            "An operator on a type is a trait implementation. Does this type implement the operator's trait (`PartialEq`, `Add`, `PartialOrd`)?",
            "Nudge: derive it (`#[derive(PartialEq)]`) or implement the `std::ops` trait for the type.",
        ]
    ),
    ladder!(
        "E0038",
        "E0038",
        "traits",
        [
            "A `dyn Trait` is used through a vtable. Which method of the trait cannot be called through one - a generic method, or one returning `Self`?",
            "Nudge: add `where Self: Sized` to that method, or make the generic method take `&dyn` / a concrete type instead.",
        ]
    ),
    ladder!(
        "E0046",
        "E0046",
        "traits",
        [
            "Implementing a trait means providing every required method. Which ones does the trait declare that your `impl` lacks?",
            "Nudge: add the missing methods with the exact signatures the trait declares.",
        ]
    ),
    ladder!(
        "E0053",
        "E0053",
        "traits",
        [
            "Your method's signature differs from the trait's. Which part - `&self` vs `&mut self`, a parameter type, the return type?",
            "Nudge: copy the signature from the trait definition and adapt the body to it.",
        ]
    ),
    ladder!(
        "E0117",
        "E0117",
        "traits",
        [
            "You may implement a trait for a type only if the trait or the type is yours. Which of the two is defined in your crate here?",
            "Nudge: wrap the foreign type in a struct of your own (the newtype pattern) and implement the trait for that.",
        ]
    ),
    ladder!(
        "E0282",
        "E0282",
        "generics",
        [
            "The compiler cannot tell which type you mean. Where could the type come from - a function signature, a variable's annotation, a turbofish?",
            "Nudge: annotate the binding (`let …: Vec<String> = …`) or use a turbofish (`.collect::<Vec<_>>()`, `.parse::<u64>()`).",
        ]
    ),
    ladder!(
        "E0107",
        "E0107",
        "generics",
        [
            "How many generic parameters (and lifetimes) does this type or trait declare, and how many did you give it?",
            "Nudge: match the declaration: e.g. `HashMap<K, V>` takes two types, `Result<T, E>` two unless your crate defines an alias.",
        ]
    ),
    ladder!(
        "E0412",
        "E0412",
        "modules",
        [
            "The compiler cannot find the type {name|you named}. Is it defined yet - and if so, in which module?",
            "Nudge: define the type the brief asks for, or bring it into scope with `use crate::module::Type;`.",
        ]
    ),
    // Enums and pattern matching
    ladder!(
        "E0004",
        "E0004",
        "pattern-matching",
        [
            "A `match` must handle every possible value. Which variants or values does yours leave out?",
            "For each missing case: what should happen? Is it really impossible, or a case you had not thought about yet?",
            "Nudge: add an arm per missing variant; use `_ =>` only when every remaining case truly means the same thing.",
        ]
    ),
    ladder!(
        "E0023",
        "E0023",
        "pattern-matching",
        [
            "How many fields does this variant hold, and how many does your pattern name?",
            "Nudge: name every field, or use `..` to ignore the rest: `Variant(…, ..)`.",
        ]
    ),
    ladder!(
        "E0026",
        "E0026",
        "pattern-matching",
        [
            "Your pattern names a field {name|that} the struct or variant does not have. What are its fields called?",
            "Nudge: use the field names from the type's definition, or `..` for the ones you do not need.",
        ]
    ),
    ladder!(
        "E0005",
        "E0005",
        "pattern-matching",
        [
            "A `let` pattern must match every value. What happens with the values your pattern does not cover (`None`, `Err`)?",
            "Nudge: use `if let ... else`, `let ... else { return ... }`, or a `match`.",
        ]
    ),
    // Modules and visibility
    ladder!(
        "E0603",
        "E0603",
        "modules",
        [
            "Items are private to their module unless marked otherwise. Who should be able to use {name|this item}?",
            "Nudge: mark it `pub` (or `pub(crate)`) where it is defined, or re-export it with `pub use`.",
        ]
    ),
    ladder!(
        "E0616",
        "E0616",
        "modules",
        [
            "The field {name|you use} is private to the module that defines the struct. Should outside code reach into it, or ask the type?",
            "Nudge: add a method that returns what callers need, or make the field `pub` if it is truly part of the interface.",
        ]
    ),
    ladder!(
        "E0624",
        "E0624",
        "modules",
        [
            "The method {name|you call} is private. Is it meant for callers outside its module?",
            "Nudge: mark it `pub` if it is part of the interface the brief describes.",
        ]
    ),
    ladder!(
        "E0433",
        "E0433",
        "modules",
        [
            "The path {name|you wrote} does not lead anywhere. Is the module or crate declared (`mod …;`), and is it spelt as it is declared?",
            "Nudge: declare the module with `mod …;` in `lib.rs`, or import what you need with `use`.",
        ]
    ),
    ladder!(
        "E0432",
        "E0432",
        "modules",
        [
            "The import {name|you wrote} names something that does not exist at that path. Where is it actually defined - and is it public?",
            "Nudge: follow the path from the crate root (`crate::...`), and check the item is `pub` in its module.",
        ]
    ),
    ladder!(
        "E0425",
        "E0425",
        "modules",
        [
            "The name {name|you use} is not in scope here. Is it defined yet, and where?",
            "Is it a function or constant the brief asks you to write, or one from another module that needs a `use`?",
            "Nudge: define it, or import it with `use`; for a method, call it on a value (`self.…()` rather than `…()`).",
        ]
    ),
    ladder!(
        "E0560",
        "E0560",
        "modules",
        [
            "The struct has no field {name|of that name}. What fields did you declare it with?",
            "Nudge: add the field to the struct's definition, or use the name it already has.",
        ]
    ),
    ladder!(
        "E0609",
        "E0609",
        "modules",
        [
            "There is no field {name|of that name} on this type. Is the value the type you think it is (an `Option`, a reference, a guard)?",
            "Nudge: unwrap or lock to reach the inner value first, or add the field to the type.",
        ]
    ),
    ladder!(
        "E0061",
        "E0061",
        "traits",
        [
            "How many arguments does this function take, and how many did you pass?",
            "Nudge: match the signature in its definition; if the brief changed the signature, update the definition too.",
        ]
    ),
    // Async
    ladder!(
        "E0728",
        "E0728",
        "async",
        [
            "`.await` suspends a future. Can a plain (non-async) function be suspended?",
            "Should this function be `async fn`, or should it hand the future to a runtime instead?",
            "Nudge: make the enclosing function `async fn` (and `.await` it from its callers), or in a test use `#[tokio::test]`.",
        ]
    ),
    ladder!(
        "E0733",
        "E0733",
        "async",
        [
            "An async fn's future holds its own state. How large would the future of a function that awaits itself be?",
            "Nudge: box the recursive call: `Box::pin(recurse(...)).await`.",
        ]
    ),
    ladder!(
        "E0746",
        "E0746",
        "traits",
        [
            "A function must return a value of one known size. How big is a `dyn Trait`?",
            "Nudge: return `impl Trait` for one concrete type, or `Box<dyn Trait>` for several.",
        ]
    ),
    ladder!("" if "future cannot be sent between threads safely", "async-send", "async", [
        "`tokio::spawn` may move the task between threads at any `.await`. What does your future hold across an `.await`?",
        "Is that a non-`Send` value - a `std::sync::MutexGuard`, an `Rc`, a `RefCell` borrow - still alive at the `.await`?",
        "Nudge: drop the guard before the `.await` (put it in its own block), or use `tokio::sync::Mutex` whose guard may be held across awaits.",
    ]),
    // Errors without a code: syntax and the like.
    ladder!(
        "",
        "syntax",
        "errors",
        [
            "Read the first error only: what did the compiler expect at that point, and what did it find?",
            "Look at the line before the one it points at: is a `;`, a closing bracket or a `,` missing there?",
            "Nudge: fix the first error and save; later errors are often echoes of the first.",
        ]
    ),
];

/// The catalog entry for a compiler error: by code (and message, where a code has variants).
pub fn lookup(code: Option<&str>, message: &str) -> Option<&'static CodeLadder> {
    let code = code.unwrap_or("");
    CATALOG.iter().find(|entry| {
        entry.code == code
            && entry
                .when_message_has
                .is_none_or(|needle| message.contains(needle))
    })
}

/// What a diagnostic gives to fill a rung's placeholders.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slots<'a> {
    /// The first item it names, e.g. `entry`.
    pub name: Option<&'a str>,
    /// The line it points at.
    pub line: Option<usize>,
    /// The line where a value was moved (a secondary label).
    pub moved: Option<usize>,
    /// The file it points at (the lint catalog's rungs name it).
    pub file: Option<&'a str>,
}

/// Fills a rung's placeholders, `{file|..}` too, from a place alone (a clippy lint's).
pub fn fill_place(
    template: &str,
    name: Option<&str>,
    file: Option<&str>,
    line: Option<usize>,
) -> String {
    fill(
        template,
        &Slots {
            name,
            line,
            moved: None,
            file,
        },
    )
}

/// Fills a rung's placeholders from what the diagnostic names.
pub fn fill(template: &str, slots: &Slots<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &rest[start + 1..start + len];
        let (slot, fallback) = inner.split_once('|').unwrap_or((inner, ""));
        match (slot, slots.name, slots.line, slots.moved, slots.file) {
            ("name", Some(name), _, _, _) => out.push_str(&format!("`{name}`")),
            ("ref", Some(name), _, _, _) => out.push_str(&format!("`&{name}`")),
            ("file", _, _, _, Some(file)) => out.push_str(&format!("`{file}`")),
            ("line", _, Some(line), _, _) | ("moved", _, _, Some(line), _) => {
                out.push_str(&format!("line {line}"));
            }
            ("name" | "ref" | "line" | "moved" | "file", ..) => out.push_str(fallback),
            _ => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The first item a diagnostic names in backticks, e.g. `entry` in "borrow of moved value:
/// `entry`" - skipping operators and types of more than one word.
pub fn named_item(message: &str) -> Option<&str> {
    message.split('`').skip(1).step_by(2).find(|s| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '<' | '>' | '&' | '\'')
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_covers_at_least_thirty_codes_with_two_rungs_each() {
        let codes: std::collections::BTreeSet<_> = CATALOG
            .iter()
            .map(|e| e.code)
            .filter(|c| !c.is_empty())
            .collect();
        assert!(codes.len() >= 30, "only {} codes", codes.len());
        for entry in CATALOG {
            assert!(
                entry.rungs.len() >= 2,
                "{} has {} rungs",
                entry.key,
                entry.rungs.len()
            );
        }
    }

    #[test]
    fn every_rung_but_the_last_is_a_question_and_concepts_are_known() {
        for entry in CATALOG {
            let (last, questions) = entry.rungs.split_last().unwrap();
            for rung in questions {
                assert!(rung.trim_end().ends_with('?'), "{}: {rung}", entry.key);
            }
            assert!(
                last.starts_with("Nudge:"),
                "{}: the last rung is the nudge",
                entry.key
            );
            assert!(
                crate::course::concept_kind(entry.concept).is_some(),
                "{}",
                entry.concept
            );
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<_> = CATALOG.iter().map(|e| e.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), CATALOG.len());
    }

    #[test]
    fn variants_of_one_code_are_told_apart_by_the_message() {
        let q = lookup(
            Some("E0277"),
            "the `?` operator can only be used in a function that returns `Result`",
        );
        assert_eq!(q.map(|e| e.key), Some("E0277-question-mark"));
        let send = lookup(
            Some("E0277"),
            "`Rc<String>` cannot be sent between threads safely",
        );
        assert_eq!(send.map(|e| e.key), Some("E0277-send"));
        let plain = lookup(
            Some("E0277"),
            "the trait bound `Foo: Clone` is not satisfied",
        );
        assert_eq!(plain.map(|e| e.key), Some("E0277"));
        assert_eq!(
            lookup(None, "expected one of `;` or `}`").map(|e| e.key),
            Some("syntax")
        );
        assert!(lookup(Some("E9999"), "unheard of").is_none());
    }

    #[test]
    fn lifetime_errors_without_a_code_get_lifetime_ladders() {
        // The messages rustc 1.95 gives for a zero-copy parser's usual mistakes.
        for (message, key) in [
            ("lifetime may not live long enough", "lifetime-too-short"),
            (
                "associated type `Iterator::Item` is declared without lifetime parameters, so \
                 using a borrowed type for them requires that lifetime to come from the \
                 implemented type",
                "associated-type-lifetime",
            ),
            (
                "`impl` item signature doesn't match `trait` item signature",
                "impl-signature-lifetimes",
            ),
        ] {
            let entry = lookup(None, message);
            assert_eq!(entry.map(|e| e.key), Some(key), "{message}");
            assert_eq!(entry.map(|e| e.concept), Some("lifetimes"), "{message}");
        }
    }

    #[test]
    fn placeholders_use_the_diagnostic_or_fall_back() {
        let rung = "Who owns {name|the value} after {line|that line}?";
        let slots = Slots {
            name: Some("entry"),
            line: Some(42),
            moved: None,
            file: None,
        };
        assert_eq!(fill(rung, &slots), "Who owns `entry` after line 42?");
        assert_eq!(
            fill(rung, &Slots::default()),
            "Who owns the value after that line?"
        );
        assert_eq!(
            fill_place(
                "In {file|your code}, {line|there}?",
                None,
                Some("src/lib.rs"),
                Some(3)
            ),
            "In `src/lib.rs`, line 3?"
        );
        assert_eq!(
            fill("Braces {like this} stay", &Slots::default()),
            "Braces {like this} stay"
        );
    }

    #[test]
    fn a_move_is_placed_on_its_own_line_and_the_nudge_uses_the_learners_name() {
        // The learner's variable is called `value`, moved on line 18 and used on line 19.
        let entry = lookup(Some("E0382"), "borrow of moved value: `value`").unwrap();
        let slots = Slots {
            name: Some("value"),
            line: Some(19),
            moved: Some(18),
            file: None,
        };
        let rungs: Vec<String> = entry.rungs.iter().map(|r| fill(r, &slots)).collect();
        assert!(
            rungs[0].contains("after line 18") && rungs[0].contains("at line 19"),
            "{}",
            rungs[0]
        );
        assert!(!rungs.iter().any(|r| r.contains("before line 19")));
        assert!(rungs[3].contains("`&value`"), "{}", rungs[3]);
    }

    #[test]
    fn code_in_rungs_uses_no_made_up_names() {
        // Names a learner may well have used: a rung must not show them as if they were theirs.
        const MADE_UP: &[&str] = &["value", "x", "y", "f", "first", "name", "key"];
        for entry in CATALOG {
            for rung in entry.rungs {
                for code in rung.split('`').skip(1).step_by(2) {
                    let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
                    for word in words {
                        assert!(
                            !MADE_UP.contains(&word),
                            "{}: `{code}` in {rung:?}",
                            entry.key
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_named_item_is_the_first_identifier_in_backticks() {
        assert_eq!(named_item("borrow of moved value: `entry`"), Some("entry"));
        assert_eq!(
            named_item("cannot borrow `self.map` as mutable"),
            Some("self.map")
        );
        assert_eq!(named_item("expected `;`, found `}`"), None);
        assert_eq!(named_item("cannot find value `x` in this scope"), Some("x"));
        assert_eq!(named_item("no backticks"), None);
    }
}
