//! Quoting of SQL identifiers and literals: the one place that does it.
//!
//! Every identifier cotenant puts into SQL goes through [`quote_ident`], even names that
//! [`ProjectName`](crate::ProjectName) already restricts to `[a-z0-9_]`, so that no call
//! site has to reason about whether a name is safe to splice.

/// Quotes an identifier for PostgreSQL: always double-quoted, embedded quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A grantee as GRANT and REVOKE take it: `PUBLIC` is a keyword there, any other name a role
/// (quoted).
pub(crate) fn quote_grantee(grantee: &str) -> String {
    if grantee == "PUBLIC" {
        "PUBLIC".to_owned()
    } else {
        quote_ident(grantee)
    }
}

/// Quotes a string literal for PostgreSQL, as the server's own `quote_literal` does:
/// single quotes doubled, and an `E''` literal with doubled backslashes when the value
/// has a backslash (so the result is right whatever `standard_conforming_strings` says).
pub(crate) fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted_and_escaped() {
        assert_eq!(quote_ident("reli"), r#""reli""#);
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_ident("select"), r#""select""#);
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(quote_literal("30s"), "'30s'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\b"), r"E'a\\b'");
    }
}
