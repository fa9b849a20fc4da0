//! Names in the order Supabase's generator sorts them: JavaScript's `localeCompare` without a
//! locale, which in Node is ICU's collation for English (the CLDR root order): case-insensitive
//! first, punctuation before digits before letters, `_` before `-`, a prefix before what extends
//! it. Byte order would put `Users` before `todos` and `user_x` after `users`.

use std::cmp::Ordering;
use std::sync::OnceLock;

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};

fn collator() -> &'static CollatorBorrowed<'static> {
    static COLLATOR: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    COLLATOR.get_or_init(|| {
        // The root collation, which English uses unchanged.
        Collator::try_new(Default::default(), CollatorOptions::default()).expect("the root collation is compiled in")
    })
}

/// `a.localeCompare(b)`.
pub fn compare(a: &str, b: &str) -> Ordering {
    collator().compare(a, b)
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering::Less;

    #[test]
    fn orders_as_the_generators_output_does() {
        // Orders seen in postgres-meta's test snapshot.
        assert_eq!(compare("user_todos_summary_view", "users"), Less);
        assert_eq!(compare("users", "users_view"), Less);
        assert_eq!(compare("users_view", "users_view_with_multiple_refs_to_users"), Less);
        assert_eq!(compare("events", "events_2024"), Less);
        assert_eq!(compare("id", "user-id"), Less);
        assert_eq!(compare("todos_user-id_fkey", "user_details_user_id_fkey"), Less);
        // Case-insensitive first, lower case first on a tie; `_` before `-`; digits before letters.
        assert_eq!(compare("apple", "Banana"), Less);
        assert_eq!(compare("a", "A"), Less);
        assert_eq!(compare("a_b", "a-b"), Less);
        assert_eq!(compare("a1", "ab"), Less);
        assert_eq!(compare("", "a"), Less);
    }
}
