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

/// `items` with the last one repeated up to the next power of two: the same
/// set for `IN (…)`, in one of a few lengths. Empty stays empty.
pub fn padded<T: Clone>(mut items: Vec<T>) -> Vec<T> {
    if let Some(last) = items.last().cloned() {
        items.resize(items.len().next_power_of_two(), last);
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
        assert_eq!(padded(Vec::<i64>::new()), Vec::<i64>::new());
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
}
