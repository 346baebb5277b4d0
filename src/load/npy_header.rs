//! The `.npy` preamble and header checked before the header parser runs: the parser
//! allocates the length the preamble announces and backtracks exponentially on unclosed
//! brackets, so both are checked here first, in one pass over bytes already mapped.

/// Checks the header length the preamble announces against the file before the header is
/// parsed: the parser allocates that many bytes first (up to 4 GiB for format 2 and 3).
pub(super) fn check(file: &[u8]) -> Result<(), String> {
    let malformed = || "malformed .npy header: the file is too short for its preamble".to_string();
    if file.len() < 10 || !file.starts_with(b"\x93NUMPY") {
        // Not ours to judge here: the parser says what is wrong.
        return Ok(());
    }
    let (announced, preamble) = match file[6] {
        1 => (usize::from(u16::from_le_bytes([file[8], file[9]])), 10),
        2 | 3 => {
            let bytes = file.get(8..12).ok_or_else(malformed)?;
            let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            (usize::try_from(len).unwrap_or(usize::MAX), 12)
        }
        _ => return Ok(()),
    };
    let available = file.len() - preamble;
    if announced > available {
        return Err(format!(
            "malformed .npy header: it claims {announced} bytes but the file holds {available} \
             after the preamble"
        ));
    }
    check_nesting(&file[preamble..preamble + announced])
}

/// numpy writes its header as a Python dict literal two brackets deep (three or four for
/// structured dtypes). The literal parser backtracks exponentially on unclosed brackets
/// (12 stray `{` took 10 s, 20 more than 30 s), so brackets are checked first, in one pass:
/// balanced, outside quotes, and at most [`MAX_NESTING`] deep.
fn check_nesting(header: &[u8]) -> Result<(), String> {
    const MAX_NESTING: usize = 8;
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for &b in header {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(format!(
                            "malformed .npy header: brackets nested more than {MAX_NESTING} deep"
                        ));
                    }
                }
                b')' | b']' | b'}' => {
                    depth = depth.checked_sub(1).ok_or_else(|| {
                        "malformed .npy header: a bracket closes that never opened".to_string()
                    })?;
                }
                _ => {}
            },
        }
    }
    if depth != 0 || quote.is_some() {
        return Err("malformed .npy header: unclosed brackets or quotes".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_header_length_past_the_end_is_refused_before_parsing() {
        // Format 2.0 with a four-byte length of 0x277b0076 (found by the fuzzer).
        let mut file = b"\x93NUMPY\x02\x00\x76\x00\x7b\x27".to_vec();
        file.extend_from_slice(&[b' '; 100]);
        let e = check(&file).unwrap_err();
        assert!(e.contains("claims 662372470 bytes"), "{e}");
        // Format 1.0: two bytes, here 1000 with 20 present.
        let mut file = b"\x93NUMPY\x01\x00\xe8\x03".to_vec();
        file.extend_from_slice(&[b' '; 20]);
        assert!(check(&file).is_err());
        let mut ok = b"\x93NUMPY\x01\x00\x04\x00".to_vec();
        ok.extend_from_slice(b"{}  ");
        assert!(check(&ok).is_ok());
    }

    #[test]
    fn brackets_are_checked_before_the_backtracking_parser_sees_them() {
        let plain = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        assert!(check_nesting(plain).is_ok());
        let structured = b"{'descr': [('a', [('b', '<f4', (2,))])], 'shape': (1,), }";
        assert!(check_nesting(structured).is_ok());
        // Brackets inside quotes do not count.
        assert!(check_nesting(b"{'descr': '<f4', 'x': '(((((((((((', }").is_ok());
        // What the fuzzer found: stray opening braces before the dict.
        let stray = [b"{".repeat(12), plain.to_vec()].concat();
        assert!(
            check_nesting(&stray)
                .unwrap_err()
                .contains("more than 8 deep")
        );
        let few = [b"{".repeat(3), plain.to_vec()].concat();
        assert!(check_nesting(&few).unwrap_err().contains("unclosed"));
        let deep = [b"(".repeat(9), b")".repeat(9)].concat();
        assert!(
            check_nesting(&deep)
                .unwrap_err()
                .contains("more than 8 deep")
        );
        assert!(check_nesting(b"{)}").unwrap_err().contains("never opened"));
    }
}
