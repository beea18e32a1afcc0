//! Splitting a no-transaction file into statements.
//!
//! A transactional migration is sent whole, as one simple query, and the server's own parser
//! splits it. A no-transaction file cannot be: PostgreSQL runs the statements of one
//! multi-statement query in an implicit transaction block, where `CREATE INDEX CONCURRENTLY`
//! is refused. So each of its statements is sent on its own, which needs the boundaries:
//! semicolons outside quotes, comments and dollar-quoted bodies.

use super::error::Position;

/// One statement of a file, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement<'a> {
    pub(crate) text: &'a str,
    /// The byte offset of `text` in the file.
    pub(crate) offset: usize,
    /// The byte offset in the file of its first character that is not blank or a comment.
    pub(crate) code: usize,
}

/// What the splitter cannot split: SQL-standard function bodies (`BEGIN ATOMIC … END`) have
/// semicolons inside that only the server's grammar can tell apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsplittable {
    pub(crate) at: Position,
}

/// The statements of `sql`, leaving out empty ones (only whitespace and comments).
pub(crate) fn split(sql: &str) -> Result<Vec<Statement<'_>>, Unsplittable> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut code = None;
    let mut previous_word: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = memchr(b'\n', bytes, i).unwrap_or(bytes.len());
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b';' => {
                if let Some(code) = code {
                    statements.push(Statement {
                        text: &sql[start..=i],
                        offset: start,
                        code,
                    });
                }
                start = i + 1;
                code = None;
                previous_word = None;
                i += 1;
                continue;
            }
            _ => {}
        }
        if code.is_none() && !b.is_ascii_whitespace() {
            code = Some(i);
        }
        match b {
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident_byte(bytes[i - 2]));
                i = skip_string(bytes, i, escapes);
                previous_word = None;
            }
            b'"' => {
                i = skip_quoted(bytes, i, b'"');
                previous_word = None;
            }
            b'$' if i == 0 || !is_ident_byte(bytes[i - 1]) => {
                match dollar_tag(bytes, i) {
                    Some(tag_end) => {
                        let tag = &bytes[i..tag_end];
                        i = find(bytes, tag, tag_end).map_or(bytes.len(), |at| at + tag.len());
                    }
                    None => i += 1,
                }
                previous_word = None;
            }
            _ if is_ident_start(b) && (i == 0 || !is_ident_byte(bytes[i - 1])) => {
                let end = i + bytes[i..].iter().take_while(|c| is_ident_byte(**c)).count();
                if let Some((ps, pe)) = previous_word
                    && sql[ps..pe].eq_ignore_ascii_case("begin")
                    && sql[i..end].eq_ignore_ascii_case("atomic")
                {
                    return Err(Unsplittable {
                        at: Position::of_byte(sql, ps),
                    });
                }
                previous_word = Some((i, end));
                i = end;
            }
            _ => i += 1,
        }
    }
    if let Some(code) = code {
        statements.push(Statement {
            text: &sql[start..],
            offset: start,
            code,
        });
    }
    Ok(statements)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_byte(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn memchr(needle: u8, bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|b| *b == needle)
        .map(|p| p + from)
}

fn find(bytes: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Block comments nest in PostgreSQL.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// A string literal from its opening quote: `''` is a quote; with `E` before it, so is `\'`.
fn skip_string(bytes: &[u8], mut i: usize, escapes: bool) -> usize {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// A quoted identifier from its opening quote: a doubled quote is a quote.
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    i += 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

/// The end of a dollar-quote tag (`$$` or `$name$`) starting at `i`, if one starts there;
/// `$1` is a parameter, not a tag.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if bytes.get(j) == Some(&b'$') {
        return Some(j + 1);
    }
    if !bytes.get(j).copied().is_some_and(is_ident_start) {
        return None;
    }
    while let Some(&b) = bytes.get(j) {
        if b == b'$' {
            return Some(j + 1);
        }
        if !(is_ident_start(b) || b.is_ascii_digit()) {
            return None;
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).unwrap().iter().map(|s| s.text.trim()).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_comments_and_bodies() {
        let sql = r#"-- cotenant: no-transaction
CREATE INDEX CONCURRENTLY i ON t (a); -- a comment; with a semicolon
/* a block; /* nested; */ still comment; */
INSERT INTO t VALUES ('it''s; fine', E'esc\'; still', "odd;name");
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;
SELECT $$a;b$$, $1;
-- trailing comment only
"#;
        let got = texts(sql);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(
            got[0].ends_with("CREATE INDEX CONCURRENTLY i ON t (a);"),
            "{}",
            got[0]
        );
        assert!(got[1].starts_with("-- a comment") && got[1].ends_with(r#""odd;name");"#));
        assert!(got[2].ends_with("$body$;"));
        assert_eq!(got[3], "SELECT $$a;b$$, $1;");
    }

    #[test]
    fn offsets_point_into_the_file_and_a_last_statement_needs_no_semicolon() {
        let sql = "SELECT 1;\nSELECT 2";
        let statements = split(sql).unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(&sql[statements[1].offset..], statements[1].text);
        assert_eq!(statements[1].text, "\nSELECT 2");
        assert_eq!(&sql[statements[1].code..], "SELECT 2");
    }

    #[test]
    fn refuses_sql_standard_function_bodies() {
        let sql = "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\n  BEGIN ATOMIC SELECT 1; END;";
        let err = split(sql).unwrap_err();
        assert_eq!(err.at, Position { line: 3, column: 3 });
        // The words in a string or as a transaction command are fine.
        assert_eq!(texts("SELECT 'begin atomic'; BEGIN; COMMIT;").len(), 3);
    }
}
