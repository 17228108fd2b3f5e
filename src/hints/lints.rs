//! The clippy catalog: questions about the idiom behind a lint on code that already works.
//!
//! After a stage passes, clippy runs on the learner's crate with the course's lint set (clippy's
//! default set plus every lint named here, see [`lint_args`]); the first lint found opens its
//! ladder. Rungs use the compiler catalog's placeholders `{line|..}` and `{file|..}` (the place the lint
//! points at); `{name|..}` always takes its fallback, since clippy's messages name types and
//! methods as often as the learner's own items. Every rung but the last is a question; the last is
//! the nudge that names the idiom.

/// A ladder for one clippy lint.
#[derive(Debug)]
pub struct LintLadder {
    /// The lint's name without its `clippy::` prefix, e.g. `needless_range_loop`.
    pub lint: &'static str,
    /// The concept (from the course vocabulary) the idiom is about.
    pub concept: &'static str,
    /// Why the lint is in the course's set: what a learner gains from meeting it.
    pub why: &'static str,
    pub rungs: &'static [&'static str],
}

macro_rules! lint {
    ($lint:literal, $concept:literal, $why:literal, [$($rung:literal),+ $(,)?]) => {
        LintLadder { lint: $lint, concept: $concept, why: $why, rungs: &[$($rung),+] }
    };
}

/// The catalog, grouped by concept.
pub static LINT_CATALOG: &[LintLadder] = &[
    // Ownership
    lint!(
        "redundant_clone",
        "ownership",
        "a clone of a value that is never used again is a copy a move would have saved",
        [
            "Is {name|the cloned value} used anywhere after {line|this line}?",
            "If nothing reads the original after the clone, what would moving it cost instead?",
            "Nudge: drop the `.clone()` and move the value: its last use may give it away.",
        ]
    ),
    lint!(
        "needless_pass_by_value",
        "ownership",
        "taking ownership of what a function only reads forces every caller to give it up or clone",
        [
            "Does the function at {line|this line} keep {name|the argument}, or only read it?",
            "What must a caller do to call it twice with the same value, as it is written now?",
            "Nudge: take a borrow (`&T`, `&str`, `&[T]`) when the function does not store or consume the argument.",
        ]
    ),
    lint!(
        "clone_on_copy",
        "ownership",
        "calling `.clone()` on a `Copy` type hides that the value is copied anyway",
        [
            "Is the value cloned at {line|this line} of a `Copy` type? What happens when a `Copy` value is assigned or passed?",
            "Nudge: drop the `.clone()`: a `Copy` value is copied by plain use (write `*x` to copy out of a reference).",
        ]
    ),
    lint!(
        "implicit_clone",
        "ownership",
        "`to_owned`/`to_vec` on an owned value is a clone in disguise; saying `clone` says what it costs",
        [
            "What type is {name|the receiver} at {line|this line}: already owned, or borrowed?",
            "Nudge: write `.clone()` when you copy an owned value, so the cost is plain to the reader.",
        ]
    ),
    lint!(
        "unnecessary_to_owned",
        "ownership",
        "making an owned copy only to borrow it again allocates for nothing",
        [
            "What does the callee at {line|this line} accept: an owned value, or a borrow?",
            "If it only borrows, what is the owned copy you make for?",
            "Nudge: pass the borrow you already have (`&s`, `s.as_str()`, `iter()`) instead of `.to_owned()`/`.to_string()`.",
        ]
    ),
    // Borrowing
    lint!(
        "needless_borrow",
        "borrowing",
        "`&` on something already a reference (or auto-borrowed) is noise that hides what is owned",
        [
            "What type does {name|the expression} already have at {line|this line}?",
            "Would the call compile without the `&` - does the compiler borrow it for you?",
            "Nudge: remove the extra `&`: the value is already a reference, or the method auto-borrows.",
        ]
    ),
    lint!(
        "ptr_arg",
        "borrowing",
        "`&String`/`&Vec<T>` parameters refuse string literals and slices for no gain",
        [
            "What can the function do with `&String` that it could not do with `&str` (or with `&[T]` instead of `&Vec<T>`)?",
            "Could a caller with a string literal, or a slice of an array, call it as written?",
            "Nudge: take `&str` / `&[T]` / `&Path`: the owned types deref to them, so every caller still fits.",
        ]
    ),
    lint!(
        "needless_borrowed_reference",
        "borrowing",
        "a `&ref x` pattern undoes itself; plain `x` binds the same reference",
        [
            "What does `&ref x` bind when the value matched is already a reference?",
            "Nudge: write the pattern as just `x` (or `&x` for a `Copy` value you want by value).",
        ]
    ),
    lint!(
        "unnecessary_mut_passed",
        "borrowing",
        "passing `&mut` where `&` is asked locks the value for no reason",
        [
            "Does the function at {line|this line} take `&mut` or `&`?",
            "Nudge: pass `&value`: a shared borrow is all it needs, and it lets others read meanwhile.",
        ]
    ),
    // Lifetimes
    lint!(
        "needless_lifetimes",
        "lifetimes",
        "explicit lifetimes that elision would infer make a signature look harder than it is",
        [
            "Which lifetime would the compiler infer for {name|this function}'s output if you wrote none?",
            "Is that the same lifetime you wrote out?",
            "Nudge: remove the lifetime parameters: the elision rules already say the output borrows from the input.",
        ]
    ),
    lint!(
        "redundant_static_lifetimes",
        "lifetimes",
        "a `const`/`static` reference is `'static` already; writing it is noise",
        [
            "For how long can a reference stored in a `const` or a `static` possibly live?",
            "Nudge: write `const NAME: &str` - `'static` is implied.",
        ]
    ),
    lint!(
        "mut_from_ref",
        "lifetimes",
        "handing out `&mut` from `&self` breaks the one-writer rule the borrow checker relies on",
        [
            "If two callers hold `&self`, may both get a `&mut` out of {name|this function} at once?",
            "What would two live `&mut` to the same data allow?",
            "Nudge: take `&mut self`, or use interior mutability (`RefCell`, `Mutex`) that checks the rule at run time.",
        ]
    ),
    // Iterators
    lint!(
        "needless_range_loop",
        "iterators",
        "indexing in a `0..len` loop costs a bounds check each time and can go out of range",
        [
            "What does the index at {line|this loop} do, other than pick the element?",
            "What would happen if the collection's length changed, or two indexes were mixed up?",
            "Could the loop walk the elements themselves, with `.enumerate()` if it needs the position?",
            "Nudge: `for item in &items` (or `items.iter().enumerate()`, or `zip`) instead of `for i in 0..items.len()`.",
        ]
    ),
    lint!(
        "iter_cloned_collect",
        "iterators",
        "cloning elements one by one into a `Vec` is what `to_vec` does in one call",
        [
            "What are you building at {line|this line}: an owned copy of the whole slice?",
            "Nudge: `slice.to_vec()` says it in one call.",
        ]
    ),
    lint!(
        "map_unwrap_or",
        "iterators",
        "`map(..).unwrap_or(..)` is two steps where one combinator says the intent",
        [
            "What value do you want at {line|this line} when the option (or result) is empty?",
            "Is there one method that maps the value or gives that default?",
            "Nudge: `opt.map_or(default, f)` (or `map_or_else`, or `is_some_and` for a bool).",
        ]
    ),
    lint!(
        "explicit_counter_loop",
        "iterators",
        "a counter kept by hand beside a loop is what `enumerate` does without the off-by-one",
        [
            "What does the counter at {line|this loop} count that the iterator does not already know?",
            "Nudge: `for (i, item) in iter.enumerate()`.",
        ]
    ),
    lint!(
        "manual_filter_map",
        "iterators",
        "`filter` then `map` with an `unwrap` is a `filter_map` that cannot panic",
        [
            "What does the `filter` at {line|this line} check, and what does the `map` then unwrap?",
            "Could one closure return `Option` and do both?",
            "Nudge: `.filter_map(|x| ...)` returning `Some(value)` for the ones you keep.",
        ]
    ),
    lint!(
        "iter_nth_zero",
        "iterators",
        "`nth(0)` is `next()` said the long way",
        [
            "Which element does `.nth(0)` return, and which method names that directly?",
            "Nudge: `.next()`.",
        ]
    ),
    lint!(
        "manual_flatten",
        "iterators",
        "an `if let Some` as a loop's whole body is a `flatten` that says it",
        [
            "Which items does the loop at {line|this line} skip?",
            "Nudge: `for item in iter.flatten()` - `Option` and `Result` are iterators of zero or one item.",
        ]
    ),
    lint!(
        "search_is_some",
        "iterators",
        "`find(..).is_some()` searches for an element only to throw it away",
        [
            "Do you need the element found at {line|this line}, or only whether there is one?",
            "Nudge: `.any(|x| ...)` (or `contains`) answers the yes-or-no question.",
        ]
    ),
    lint!(
        "while_let_on_iterator",
        "iterators",
        "`while let Some(x) = it.next()` is a `for` loop written by hand",
        [
            "What does the `while let` at {line|this line} do that a `for` loop would not?",
            "Nudge: `for x in it` (or `for x in it.by_ref()` when you use the iterator after the loop).",
        ]
    ),
    lint!(
        "explicit_iter_loop",
        "iterators",
        "`for x in v.iter()` is the long form of `for x in &v`",
        [
            "What does `&v` become in a `for` loop?",
            "Nudge: `for x in &v` (and `&mut v` for `iter_mut()`).",
        ]
    ),
    lint!(
        "unnecessary_fold",
        "iterators",
        "a `fold` that computes a sum or an `any` reimplements a named adapter",
        [
            "What does the `fold` at {line|this line} compute: a sum, a product, whether any matches?",
            "Nudge: use the adapter that names it: `sum()`, `product()`, `any()`, `all()`.",
        ]
    ),
    lint!(
        "cloned_instead_of_copied",
        "iterators",
        "`copied()` promises a cheap bit copy where `cloned()` might hide an expensive one",
        [
            "Are the elements at {line|this line} `Copy`?",
            "Nudge: `.copied()`: it says the copy is cheap, and fails to compile if the type stops being `Copy`.",
        ]
    ),
    // Closures
    lint!(
        "redundant_closure",
        "closures",
        "`|x| f(x)` wraps a function in a closure that adds nothing",
        [
            "What does the closure at {line|this line} do with its argument besides pass it on?",
            "Nudge: pass the function itself: `.map(f)` (or `.map(Type::method)`).",
        ]
    ),
    lint!(
        "or_fun_call",
        "closures",
        "`unwrap_or(f())` calls `f` even when the value is there",
        [
            "When is the argument of `unwrap_or` at {line|this line} evaluated: always, or only when needed?",
            "What does it cost if that call allocates or does work?",
            "Nudge: `unwrap_or_else(|| f())` (or `unwrap_or_default()`) runs it only when it is needed.",
        ]
    ),
    // Errors
    lint!(
        "unwrap_used",
        "errors",
        "`unwrap` in library code turns a recoverable error into a crash of the caller's program",
        [
            "What happens to the program using your library when the `unwrap` at {line|this line} meets `None` or `Err`?",
            "Can that case really never happen - and if it can, who should decide what to do about it?",
            "Does the function return `Result` or `Option`, so that `?` can pass the problem up?",
            "Nudge: return the error with `?` (add a variant to your error type if needed); keep `unwrap` for tests and proven invariants.",
        ]
    ),
    lint!(
        "expect_used",
        "errors",
        "`expect` is a documented crash; library code should hand the error to its caller",
        [
            "Who reads the message of the `expect` at {line|this line} - and what can they do about it then?",
            "Could the caller handle this case better than a panic would?",
            "Nudge: propagate with `?` or handle the case; keep `expect` for invariants you can prove, with the proof in its message.",
        ]
    ),
    lint!(
        "question_mark",
        "errors",
        "an early `return Err(e)` by hand is what `?` does, with the conversion for free",
        [
            "What does the `match`/`if let` at {line|this line} do with the error case?",
            "Nudge: write `?`: it returns the error (converting it with `From`) and unwraps the value.",
        ]
    ),
    lint!(
        "result_large_err",
        "errors",
        "a large error type makes every `Result` large, on the happy path too",
        [
            "How many bytes does the error type of {name|this function} take, and who pays for them when there is no error?",
            "Nudge: box the large part (`Box<Details>`) so the `Result` stays small.",
        ]
    ),
    lint!(
        "map_err_ignore",
        "errors",
        "`map_err(|_| ..)` throws away the cause a user needs to fix the problem",
        [
            "What did the error you drop at {line|this line} say?",
            "Could the new error keep it as its source?",
            "Nudge: keep the cause: `map_err(|e| MyError::Io(e))` or `#[from]`/`#[source]` with thiserror.",
        ]
    ),
    lint!(
        "unnecessary_wraps",
        "errors",
        "a function that always returns `Ok`/`Some` makes its callers handle an error that never comes",
        [
            "Can {name|this function} ever return `Err` or `None`?",
            "Nudge: return the plain value; callers then need no `?` or `unwrap`.",
        ]
    ),
    // Pattern matching
    lint!(
        "manual_let_else",
        "pattern-matching",
        "a `match` that only unpacks or leaves is what `let ... else` says in one line",
        [
            "What does the `match` at {line|this line} do in the arm that does not unpack the value?",
            "If that arm always leaves (`return`, `continue`, `break`), is there a `let` that says so?",
            "Nudge: `let Some(x) = opt else { return ... };` - the happy path stays unindented.",
        ]
    ),
    lint!(
        "single_match",
        "pattern-matching",
        "a `match` with one arm and `_ => {}` is an `if let`",
        [
            "How many arms of the `match` at {line|this line} do anything?",
            "Nudge: `if let Pattern = value { ... }`.",
        ]
    ),
    lint!(
        "manual_map",
        "pattern-matching",
        "a `match` that rewraps `Some` in `Some` is `Option::map`",
        [
            "What does the `match` at {line|this line} do with `None`?",
            "Nudge: `opt.map(|x| ...)` (and `?` inside a function returning `Option`).",
        ]
    ),
    lint!(
        "match_like_matches_macro",
        "pattern-matching",
        "a `match` to `true`/`false` is a `matches!`",
        [
            "What does the `match` at {line|this line} return in each arm?",
            "Nudge: `matches!(value, Pattern)`.",
        ]
    ),
    lint!(
        "redundant_pattern_matching",
        "pattern-matching",
        "`if let Some(_) = x` asks a question `is_some()` names",
        [
            "Do you use what the pattern at {line|this line} binds?",
            "Nudge: `x.is_some()` / `is_ok()` / `is_err()`.",
        ]
    ),
    lint!(
        "collapsible_match",
        "pattern-matching",
        "a `match` nested in a `match` arm can usually be one pattern",
        [
            "Does the outer arm at {line|this line} do anything besides match again?",
            "Nudge: merge the two into one nested pattern, e.g. `Some(Msg::Put(k))`.",
        ]
    ),
    lint!(
        "match_wildcard_for_single_variants",
        "enums",
        "a `_` arm that stands for one variant silently swallows variants added later",
        [
            "Which variants does the `_` at {line|this line} stand for today?",
            "What should happen when someone adds a new variant to the enum?",
            "Nudge: name the variant instead of `_`, so the compiler tells you where a new variant must be handled.",
        ]
    ),
    lint!(
        "manual_unwrap_or_default",
        "pattern-matching",
        "a `match` that falls back to `Default::default()` is `unwrap_or_default`",
        [
            "What value does the fallback arm at {line|this line} produce?",
            "Nudge: `.unwrap_or_default()`.",
        ]
    ),
    // Enums
    lint!(
        "large_enum_variant",
        "enums",
        "an enum is as big as its largest variant: one large variant makes every small one pay",
        [
            "How big is each variant of {name|the enum}, and how often is the large one used?",
            "Where do values of this enum live - a `Vec`, a channel - and how much memory do the small ones waste?",
            "Nudge: box the large variant's data (`Big(Box<Data>)`) so the enum stays small.",
        ]
    ),
    // Traits
    lint!(
        "new_without_default",
        "traits",
        "a `new()` with no arguments is a `Default` that generic code cannot find",
        [
            "Could generic code (`unwrap_or_default`, `#[derive(Default)]` on a containing struct) build {name|your type}?",
            "Nudge: implement `Default` (derive it, or have `default()` call `new()`).",
        ]
    ),
    lint!(
        "useless_conversion",
        "traits",
        "`.into()` or `T::from` to the same type is a conversion that converts nothing",
        [
            "What type goes into the conversion at {line|this line}, and what comes out?",
            "Nudge: remove the `.into()`/`.into_iter()`: the value already has the type you need.",
        ]
    ),
    lint!(
        "from_over_into",
        "traits",
        "implementing `From` gives `Into` for free; implementing `Into` gives nothing back",
        [
            "Which of `From` and `Into` does the standard library implement for you, given the other?",
            "Nudge: `impl From<A> for B`, and `a.into()` still works.",
        ]
    ),
    lint!(
        "inherent_to_string",
        "traits",
        "a `to_string` method of one's own misses `Display`, which `format!` and `{}` use",
        [
            "Can {name|your type} be printed with `{}` in `format!` as it is?",
            "Nudge: implement `std::fmt::Display`: `to_string()` then comes with it.",
        ]
    ),
    lint!(
        "should_implement_trait",
        "traits",
        "a method named like a standard trait's method (`add`, `from_str`, `next`) should be that trait",
        [
            "Which standard trait has a method named {name|like this one}?",
            "What would implementing that trait give your type that the method alone does not?",
            "Nudge: implement the trait (`FromStr`, `Iterator`, `Add`...) instead of a look-alike method.",
        ]
    ),
    // Collections
    lint!(
        "len_zero",
        "collections",
        "`len() == 0` asks the question `is_empty()` names",
        [
            "What question does the comparison at {line|this line} ask?",
            "Nudge: `.is_empty()`.",
        ]
    ),
    lint!(
        "len_without_is_empty",
        "collections",
        "a public `len()` without `is_empty()` breaks the convention every collection follows",
        [
            "How would a user of {name|your type} ask whether it is empty?",
            "Nudge: add `pub fn is_empty(&self) -> bool`.",
        ]
    ),
    lint!(
        "map_entry",
        "collections",
        "`contains_key` then `insert` looks the key up twice; the entry API looks once",
        [
            "How many times does the code at {line|this line} look the key up in the map?",
            "Is there an API that finds the slot once and lets you fill it?",
            "Nudge: `map.entry(key).or_insert(value)` (or `or_insert_with`, `and_modify`).",
        ]
    ),
    // Smart pointers
    lint!(
        "box_collection",
        "smart-pointers",
        "a `Box<Vec<T>>` adds an allocation to a type that already lives on the heap",
        [
            "Where does a `Vec`'s data live already, and how big is the `Vec` itself?",
            "Nudge: use the collection directly, without the `Box`.",
        ]
    ),
    lint!(
        "redundant_allocation",
        "smart-pointers",
        "`Rc<Box<T>>` and the like are two allocations where one does",
        [
            "How many heap allocations does {name|this type} make, and how many pointer hops does a read take?",
            "Nudge: `Rc<T>` (or `Rc<str>`, `Rc<[T]>`) - one allocation.",
        ]
    ),
    // Concurrency and async
    lint!(
        "await_holding_lock",
        "async",
        "a `std::sync::MutexGuard` held across `.await` can deadlock the executor and makes the future `!Send`",
        [
            "Which lock guard is still alive at the `.await` at {line|this line}?",
            "What does every other task that needs the lock do while this task sleeps at that `.await`?",
            "Nudge: drop the guard before awaiting (take what you need in its own block), or use `tokio::sync::Mutex` if the lock must span the await.",
        ]
    ),
    lint!(
        "await_holding_refcell_ref",
        "async",
        "a `RefCell` borrow held across `.await` panics when another task borrows meanwhile",
        [
            "Which `RefCell` borrow is still alive at the `.await` at {line|this line}?",
            "Nudge: end the borrow (its own block, or copy the value out) before the `.await`.",
        ]
    ),
    lint!(
        "unused_async",
        "async",
        "an `async fn` with no `.await` makes callers await for nothing",
        [
            "Does {name|this function} await anything?",
            "Nudge: make it a plain `fn`; an `async` caller can still call it.",
        ]
    ),
    lint!(
        "arc_with_non_send_sync",
        "concurrency",
        "an `Arc` of a type that is not `Send + Sync` cannot be shared across threads, its only reason to be",
        [
            "Can {name|the value in the `Arc`} be sent to or shared with another thread?",
            "Nudge: use `Rc` for sharing within a thread, or wrap the value in a `Mutex` to share it between threads.",
        ]
    ),
    lint!(
        "mutex_atomic",
        "atomics",
        "a `Mutex<bool>` or `Mutex<usize>` used as a flag or counter is an atomic with a lock around it",
        [
            "What does the `Mutex` at {line|this line} protect: one number or flag, or several values that change together?",
            "Nudge: an `AtomicBool`/`AtomicUsize` for a lone value; keep the `Mutex` when several values must change together.",
        ]
    ),
    // Performance
    lint!(
        "inefficient_to_string",
        "performance",
        "`to_string` on `&&str` goes through the slow `Display` path",
        [
            "What type is {name|the receiver}: a `&str`, or a reference to one?",
            "Nudge: dereference first: `(*s).to_string()`, or `s.to_owned()`.",
        ]
    ),
    lint!(
        "single_char_pattern",
        "performance",
        "a one-character string pattern is a `char` search done the slow way",
        [
            "How long is the pattern at {line|this line}?",
            "Nudge: use a `char`: `split(',')` instead of `split(\",\")`.",
        ]
    ),
];

/// The catalog entry for a lint, by its name with or without the `clippy::` prefix.
pub fn lint_lookup(lint: &str) -> Option<&'static LintLadder> {
    let name = lint.strip_prefix("clippy::").unwrap_or(lint);
    LINT_CATALOG.iter().find(|entry| entry.lint == name)
}

/// The arguments after `cargo clippy ... --` that set the course's lint set: clippy's default
/// set (on by itself) and every lint of the catalog as a warning.
pub fn lint_args() -> Vec<String> {
    LINT_CATALOG
        .iter()
        .map(|entry| format!("-Wclippy::{}", entry.lint))
        .collect()
}

/// The course's lint set as a gate, for strict stages: the catalog's lints forbidden (`-F`), so
/// no `allow` in the learner's code can switch one off (rustc refuses it, E0453, and so does
/// `#![allow(clippy::all)]`, which contains them); the rest of clippy's default set denied.
/// (Not `-Fclippy::all`: rustc lets a crate's `allow` of a forbidden *group* through, warning.)
pub fn strict_lint_args() -> Vec<String> {
    std::iter::once("-Dclippy::all".to_owned())
        .chain(
            LINT_CATALOG
                .iter()
                .map(|entry| format!("-Fclippy::{}", entry.lint)),
        )
        .collect()
}

/// The catalog's teaching-rule problems: 2 to 4 rungs, questions before the last, a nudge
/// last, a known concept, a reason. Empty when it is sound.
pub fn catalog_problems() -> Vec<String> {
    let mut problems = Vec::new();
    for entry in LINT_CATALOG {
        let lint = entry.lint;
        if !(2..=4).contains(&entry.rungs.len()) {
            problems.push(format!(
                "`{lint}` has {} rungs; a lint ladder has 2 to 4",
                entry.rungs.len()
            ));
        }
        let Some((last, questions)) = entry.rungs.split_last() else {
            continue;
        };
        for (i, rung) in questions.iter().enumerate() {
            if !rung.trim_end().ends_with('?') {
                problems.push(format!(
                    "`{lint}`, rung {}, is not a question: only the last rung may tell",
                    i + 1
                ));
            }
        }
        if !last.starts_with("Nudge:") {
            problems.push(format!(
                "`{lint}`: the last rung must be the nudge (`Nudge: ...`) naming the idiom"
            ));
        }
        if crate::course::concept_kind(entry.concept).is_none() {
            problems.push(format!(
                "`{lint}`: concept `{}` is not in the vocabulary",
                entry.concept
            ));
        }
        if entry.why.trim().is_empty() {
            problems.push(format!("`{lint}`: say why it is in the course's lint set"));
        }
    }
    let mut names: Vec<&str> = LINT_CATALOG.iter().map(|e| e.lint).collect();
    names.sort_unstable();
    for pair in names.windows(2) {
        if pair[0] == pair[1] {
            problems.push(format!("`{}` is in the catalog twice", pair[0]));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_covers_at_least_forty_lints_with_two_to_four_rungs() {
        assert!(LINT_CATALOG.len() >= 40, "{} lints", LINT_CATALOG.len());
        for entry in LINT_CATALOG {
            assert!(
                (2..=4).contains(&entry.rungs.len()),
                "{}: {} rungs",
                entry.lint,
                entry.rungs.len()
            );
        }
    }

    #[test]
    fn every_rung_but_the_last_is_a_question_and_concepts_are_known() {
        for entry in LINT_CATALOG {
            let (last, questions) = entry.rungs.split_last().unwrap();
            for rung in questions {
                assert!(rung.trim_end().ends_with('?'), "{}: {rung}", entry.lint);
            }
            assert!(last.starts_with("Nudge:"), "{}: the last rung", entry.lint);
            assert!(
                crate::course::concept_kind(entry.concept).is_some(),
                "{}",
                entry.concept
            );
            assert!(!entry.why.is_empty(), "{}", entry.lint);
        }
    }

    #[test]
    fn the_catalog_passes_its_own_lint() {
        assert_eq!(catalog_problems(), Vec::<String>::new());
    }

    #[test]
    fn lints_are_unique_and_found_with_or_without_prefix() {
        let mut names: Vec<_> = LINT_CATALOG.iter().map(|e| e.lint).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LINT_CATALOG.len());
        assert_eq!(
            lint_lookup("clippy::ptr_arg").map(|e| e.lint),
            Some("ptr_arg")
        );
        assert_eq!(lint_lookup("ptr_arg").map(|e| e.concept), Some("borrowing"));
        assert!(lint_lookup("clippy::no_such_lint").is_none());
        assert!(lint_args().contains(&"-Wclippy::unwrap_used".to_owned()));
    }
}
