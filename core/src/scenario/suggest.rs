//! "Did you mean ...?": the closest known spelling to a mistyped key or value.
//!
//! Distances are optimal-string-alignment edit distances (insert, delete, substitute, swap two
//! neighbours) over lower-cased characters with `_` and `-` removed, so `flush_disk_type`,
//! `FlushDiskType` and `flushDiskTyp` all find `flushDiskType`. A candidate is offered only when it
//! is close for its length; ties go to the earlier candidate, so the answer is deterministic.

/// The candidate closest to `given`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normal = normalize(given);
    let mut best: Option<(u32, &'a str)> = None;
    for candidate in candidates {
        let distance = distance(&normal, &normalize(candidate));
        let longest = normal.len().max(candidate.chars().count()) as u32;
        let allowed = (longest / 3).clamp(1, 4);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn normalize(text: &str) -> Vec<char> {
    text.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

/// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a substring).
fn distance(a: &[char], b: &[char]) -> u32 {
    if a.len() > 256 || b.len() > 256 {
        return u32::MAX;
    }
    let width = b.len() + 1;
    let mut d = vec![0u32; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i as u32;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j as u32;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = u32::from(a[i - 1] != b[j - 1]);
            let mut value =
                (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                value = value.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = value;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_known_key() {
        let keys = ["flushDiskType", "brokerRole", "fileReservedTime", "mappedFileSizeCommitLog"];
        assert_eq!(did_you_mean("flushDiskTyp", keys), Some("flushDiskType"));
        assert_eq!(did_you_mean("flush_disk_type", keys), Some("flushDiskType"));
        assert_eq!(did_you_mean("brokerRloe", keys), Some("brokerRole"));
        assert_eq!(did_you_mean("BROKERROLE", keys), Some("brokerRole"));
        assert_eq!(did_you_mean("somethingElse", keys), None);
        assert_eq!(did_you_mean("x", keys), None);
    }

    #[test]
    fn values_are_suggested_too() {
        let values = ["SYNC_FLUSH", "ASYNC_FLUSH"];
        assert_eq!(did_you_mean("ASYNC_FLUS", values), Some("ASYNC_FLUSH"));
        assert_eq!(did_you_mean("sync", values), None);
    }
}
