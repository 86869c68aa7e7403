//! The polling cursor. Odoo compares datetimes to the whole second, so `write_date > last`
//! alone skips records written later in the same second: the domain is
//! `write_date > last OR (write_date >= last AND id NOT IN seen-at-last)`, which finds
//! same-second latecomers, finds seen records that changed again later, and repeats nothing.
//! No offset paging over a moving set.

use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub last_write_date: String,
    /// Ids already processed whose `write_date` equals `last_write_date`.
    pub seen_at_last: Vec<i64>,
}

impl Cursor {
    pub fn start() -> Self {
        Self {
            last_write_date: "1970-01-01 00:00:00".into(),
            seen_at_last: Vec::new(),
        }
    }

    /// The domain part that selects what is new since this cursor.
    pub fn domain(&self) -> Vec<Value> {
        if self.seen_at_last.is_empty() {
            return vec![json!(["write_date", ">=", self.last_write_date])];
        }
        vec![
            json!("|"),
            json!(["write_date", ">", self.last_write_date]),
            json!("&"),
            json!(["write_date", ">=", self.last_write_date]),
            json!(["id", "not in", self.seen_at_last]),
        ]
    }

    /// Moves past a page of `(id, write_date)` read in `write_date, id` order.
    pub fn advance(&mut self, page: &[(i64, String)]) {
        for (id, write_date) in page {
            let wd: String = write_date.chars().take(19).collect();
            if wd > self.last_write_date {
                self.last_write_date = wd.clone();
                self.seen_at_last.clear();
            }
            if wd == self.last_write_date && !self.seen_at_last.contains(id) {
                self.seen_at_last.push(*id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[(i64, &str)]) -> Vec<(i64, String)> {
        r.iter().map(|(i, d)| (*i, d.to_string())).collect()
    }

    #[test]
    fn same_second_records_are_not_skipped_nor_repeated() {
        let mut c = Cursor::start();
        c.advance(&rows(&[
            (5, "2026-11-26 16:00:23"),
            (3, "2026-11-26 16:00:24"),
        ]));
        assert_eq!(c.last_write_date, "2026-11-26 16:00:24");
        assert_eq!(c.seen_at_last, vec![3]);
        // Record 9 written later in the same second: `>=` finds it, `not in` drops 3.
        assert_eq!(
            c.domain(),
            vec![
                json!("|"),
                json!(["write_date", ">", "2026-11-26 16:00:24"]),
                json!("&"),
                json!(["write_date", ">=", "2026-11-26 16:00:24"]),
                json!(["id", "not in", [3]])
            ]
        );
        c.advance(&rows(&[(9, "2026-11-26 16:00:24")]));
        assert_eq!(c.seen_at_last, vec![3, 9]);
        c.advance(&rows(&[(3, "2026-11-26 16:00:25")]));
        assert_eq!(c.last_write_date, "2026-11-26 16:00:25");
        assert_eq!(c.seen_at_last, vec![3]);
    }

    #[test]
    fn microseconds_from_webhooks_compare_by_second() {
        let mut c = Cursor::start();
        c.advance(&rows(&[(1, "2026-11-26 16:08:40.914195")]));
        assert_eq!(c.last_write_date, "2026-11-26 16:08:40");
    }

    #[test]
    fn a_cursor_never_moves_back() {
        // Property: whatever order pages come in, the cursor's date is the maximum seen.
        let dates = [
            "2026-01-01 00:00:01",
            "2026-01-01 00:00:03",
            "2026-01-01 00:00:02",
            "2026-01-01 00:00:03",
        ];
        for rotation in 0..dates.len() {
            let mut c = Cursor::start();
            for (i, d) in dates
                .iter()
                .cycle()
                .skip(rotation)
                .take(dates.len())
                .enumerate()
            {
                c.advance(&rows(&[(i as i64, d)]));
            }
            assert_eq!(c.last_write_date, "2026-01-01 00:00:03");
            assert_eq!(c.seen_at_last.len(), 2);
        }
    }
}
