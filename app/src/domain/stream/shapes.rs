//! A few statement shapes instead of one per batch size.
//!
//! The writer's statements take lists whose length changes with every batch
//! (the users it locks, the rows it inserts). Each length is different SQL,
//! so each would be prepared anew and fill the driver's per-connection
//! statement cache; on MySQL/MariaDB every eviction then sends a
//! `COM_STMT_CLOSE`, which has no reply, right before the next command, and
//! with Nagle's algorithm on the connection (sqlx 0.9 does not set
//! `TCP_NODELAY`) that next command waits for the server's delayed ACK:
//! stalls of up to 200 ms, measured as the p99 of every send in the batch
//! (docs/performance.md). Rounding every list up to a power of two keeps
//! the shapes to a handful per statement, all prepared once and reused.
//!
//! SQLite has no network to stall and pays for every extra statement with
//! a hand-off to its connection's thread, so there the lists stay as they
//! are ([`Shaping::for_backend`]).

use sea_orm::DbBackend;

/// Whether a backend's statements get a few fixed shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shaping {
    PowersOfTwo,
    AsIs,
}

impl Shaping {
    pub fn for_backend(backend: DbBackend) -> Self {
        match backend {
            DbBackend::MySql => Self::PowersOfTwo,
            _ => Self::AsIs,
        }
    }

    /// An `IN (…)` list, padded (with its last item) to the power of two
    /// at or above `length`.
    pub fn in_list<T: Clone>(self, items: Vec<T>, length: usize) -> Vec<T> {
        match self {
            Self::PowersOfTwo => padded_to(items, length.next_power_of_two()),
            Self::AsIs => items,
        }
    }

    /// Rows for multi-row inserts: see [`power_of_two_chunks`].
    pub fn chunks<T>(self, rows: Vec<T>) -> Vec<Vec<T>> {
        match self {
            Self::PowersOfTwo => power_of_two_chunks(rows),
            Self::AsIs if rows.is_empty() => Vec::new(),
            Self::AsIs => vec![rows],
        }
    }
}

/// `items` with the last one repeated up to `length` (never shorter): the
/// same set for `IN (…)`, in a length of the caller's choosing. Empty stays
/// empty.
fn padded_to<T: Clone>(mut items: Vec<T>, length: usize) -> Vec<T> {
    if let Some(last) = items.last().cloned() {
        items.resize(length.max(items.len()), last);
    }
    items
}

/// `rows` in chunks whose sizes are powers of two, largest first (100 rows:
/// 64, 32, 4), for multi-row inserts of a few shapes.
pub fn power_of_two_chunks<T>(mut rows: Vec<T>) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    while !rows.is_empty() {
        let size = 1 << rows.len().ilog2();
        let rest = rows.split_off(size);
        chunks.push(rows);
        rows = rest;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_padded_with_their_last_item_to_a_power_of_two() {
        let padded = |items: Vec<i64>| {
            let length = items.len();
            Shaping::PowersOfTwo.in_list(items, length)
        };
        assert_eq!(padded(Vec::new()), Vec::<i64>::new());
        assert_eq!(padded(vec![7]), vec![7]);
        assert_eq!(padded(vec![1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(padded((1..=5).collect()), vec![1, 2, 3, 4, 5, 5, 5, 5]);
        let shapes: std::collections::BTreeSet<usize> =
            (1..=256).map(|n| padded(vec![0; n]).len()).collect();
        assert_eq!(shapes.len(), 9, "{shapes:?}");
    }

    #[test]
    fn rows_split_into_power_of_two_chunks_in_order() {
        let chunks = power_of_two_chunks((0..100).collect::<Vec<i32>>());
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [64, 32, 4]);
        assert_eq!(chunks.concat(), (0..100).collect::<Vec<i32>>());
        assert!(power_of_two_chunks(Vec::<i32>::new()).is_empty());
        assert_eq!(power_of_two_chunks(vec![1]), vec![vec![1]]);
    }

    #[test]
    fn only_mysql_gets_fixed_shapes() {
        let mysql = Shaping::for_backend(DbBackend::MySql);
        let sqlite = Shaping::for_backend(DbBackend::Sqlite);
        assert_eq!(
            mysql.in_list(vec![1, 2, 3], 5),
            vec![1, 2, 3, 3, 3, 3, 3, 3]
        );
        assert_eq!(sqlite.in_list(vec![1, 2, 3], 5), vec![1, 2, 3]);
        assert_eq!(sqlite.chunks((0..100).collect::<Vec<_>>()).len(), 1);
        assert!(sqlite.chunks(Vec::<i32>::new()).is_empty());
        assert_eq!(mysql.chunks((0..100).collect::<Vec<_>>()).len(), 3);
    }
}
