//! Key-range arithmetic shared by both backends.
//!
//! Both backends order keys by their bytes (etcd does, and redb orders `&str` the same way),
//! so "keys with a prefix" is the half-open range `[prefix, prefix_end(prefix))` and "strictly
//! after `k`" starts at `k + "\0"`, the smallest key greater than `k`.

/// The smallest key greater than every key starting with `prefix`, or `None` if there is no
/// such key (an empty prefix, or one made only of `0xff` bytes, covers the rest of the space).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Where a listing starts: the prefix itself, or just past `start_after` when that lies
/// inside the prefix's range (a cursor before the prefix means "from the beginning").
pub(crate) fn list_start(prefix: &str, start_after: Option<&str>) -> String {
    match start_after {
        Some(after) if after >= prefix => format!("{after}\0"),
        _ => prefix.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"/registry/pods/"), Some(b"/registry/pods0".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn list_start_skips_the_cursor_key() {
        assert_eq!(list_start("/a/", None), "/a/");
        assert_eq!(list_start("/a/", Some("/a/x")), "/a/x\0");
        assert_eq!(list_start("/b/", Some("/a/x")), "/b/");
    }
}
