//! The closed vocabulary of concept tags a stage may carry.
//!
//! A closed list (rather than free text) lets `katas list` and reports group stages by concept and
//! lets `dev check` prove that the course as a whole covers the Rust concepts it promises.

/// Whether a concept is about the language or about distributed systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConceptKind {
    Rust,
    Systems,
}

/// Every concept tag, with its kind.
pub const CONCEPTS: &[(&str, ConceptKind)] = &[
    ("ownership", ConceptKind::Rust),
    ("borrowing", ConceptKind::Rust),
    ("lifetimes", ConceptKind::Rust),
    ("traits", ConceptKind::Rust),
    ("enums", ConceptKind::Rust),
    ("pattern-matching", ConceptKind::Rust),
    ("errors", ConceptKind::Rust),
    ("modules", ConceptKind::Rust),
    ("collections", ConceptKind::Rust),
    ("generics", ConceptKind::Rust),
    ("iterators", ConceptKind::Rust),
    ("closures", ConceptKind::Rust),
    ("smart-pointers", ConceptKind::Rust),
    ("concurrency", ConceptKind::Rust),
    ("atomics", ConceptKind::Rust),
    ("async", ConceptKind::Rust),
    ("pinning", ConceptKind::Rust),
    ("crate-design", ConceptKind::Rust),
    ("serde", ConceptKind::Rust),
    ("io", ConceptKind::Rust),
    ("testing", ConceptKind::Rust),
    ("performance", ConceptKind::Rust),
    ("durability", ConceptKind::Systems),
    ("crash-recovery", ConceptKind::Systems),
    ("append-only-log", ConceptKind::Systems),
    ("compaction", ConceptKind::Systems),
    ("indexing", ConceptKind::Systems),
    ("checksums", ConceptKind::Systems),
    ("networking", ConceptKind::Systems),
    ("protocols", ConceptKind::Systems),
    ("backpressure", ConceptKind::Systems),
    ("idempotence", ConceptKind::Systems),
    ("retries", ConceptKind::Systems),
    ("broadcast", ConceptKind::Systems),
    ("crdt", ConceptKind::Systems),
    ("eventual-consistency", ConceptKind::Systems),
    ("replication", ConceptKind::Systems),
    ("leader-election", ConceptKind::Systems),
    ("consensus", ConceptKind::Systems),
    ("quorum", ConceptKind::Systems),
    ("linearizability", ConceptKind::Systems),
    ("partitions", ConceptKind::Systems),
    ("clocks", ConceptKind::Systems),
    ("leases", ConceptKind::Systems),
    ("rate-limiting", ConceptKind::Systems),
    ("fairness", ConceptKind::Systems),
    ("fault-tolerance", ConceptKind::Systems),
    ("unique-ids", ConceptKind::Systems),
];

/// The kind of a concept tag, or `None` if the tag is not in the vocabulary.
pub fn concept_kind(tag: &str) -> Option<ConceptKind> {
    CONCEPTS
        .iter()
        .find(|(name, _)| *name == tag)
        .map(|(_, kind)| *kind)
}

/// The vocabulary entry closest to a misspelt tag, if one is close enough to be a likely typo.
pub(crate) fn closest_concept(tag: &str) -> Option<&'static str> {
    CONCEPTS
        .iter()
        .map(|(name, _)| (strsim::levenshtein(tag, name), *name))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tags_have_a_kind_and_unknown_ones_do_not() {
        assert_eq!(concept_kind("ownership"), Some(ConceptKind::Rust));
        assert_eq!(concept_kind("consensus"), Some(ConceptKind::Systems));
        assert_eq!(concept_kind("ownershp"), None);
    }

    #[test]
    fn a_typo_is_matched_to_the_intended_tag() {
        assert_eq!(closest_concept("ownershp"), Some("ownership"));
        assert_eq!(closest_concept("quantum-entanglement"), None);
    }

    #[test]
    fn the_vocabulary_has_no_duplicates() {
        let mut names: Vec<_> = CONCEPTS.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CONCEPTS.len());
    }
}
