//! Whether a routine's text body names a relation: a heuristic over the body's text.
//!
//! PostgreSQL keeps SQL and PL/pgSQL bodies as text and resolves their names each time they run,
//! so moving a relation breaks a body that names it where the name no longer resolves. The body
//! is scanned for identifiers (comments skipped; string literals scanned too, because
//! `nextval('t_id_seq')` resolves its argument at run time). It cannot see names built at run time
//! (`EXECUTE format(...)`), and it matches a column, variable or word spelled like the relation.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// How a body names a relation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mentions {
    /// As `public.<name>`.
    pub(crate) qualified: bool,
    /// As `<name>` without a schema.
    pub(crate) unqualified: bool,
}

impl Mentions {
    pub(crate) fn any(self) -> bool {
        self.qualified || self.unqualified
    }
}

/// How `body` names `name`, a relation of schema `public`.
pub(crate) fn mentions(body: &str, name: &str) -> Mentions {
    let mut found = Mentions::default();
    let tokens: Vec<Token> = tokens(body).into_iter().map(|(token, _)| token).collect();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Ident(ident) = token else { continue };
        if ident != name {
            continue;
        }
        let qualified = i >= 2
            && tokens[i - 1] == Token::Dot
            && matches!(&tokens[i - 2], Token::Ident(schema) if schema == "public");
        let other_schema = i >= 2 && tokens[i - 1] == Token::Dot && !qualified;
        if qualified {
            found.qualified = true;
        } else if !other_schema {
            found.unqualified = true;
        }
    }
    found
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An identifier, folded to lower case unless it was double-quoted.
    Ident(String),
    Dot,
    Other,
}

/// `text` with every `public.<name>` whose name is a key of `moved` replaced by the value (the
/// object's qualified name in the project), and how many were replaced. The same scan as
/// [`mentions`]: quoting, case and spacing understood, comments left alone, string literals
/// rewritten too (`nextval('public.t_id_seq')` resolves its argument when it runs).
pub(crate) fn qualify(text: &str, moved: &BTreeMap<String, String>) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let tokens = tokens(text);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut replaced = 0;
    for i in 2..tokens.len() {
        let (Token::Ident(name), span) = &tokens[i] else {
            continue;
        };
        let schema = &tokens[i - 2];
        if tokens[i - 1].0 != Token::Dot || schema.0 != Token::Ident("public".to_owned()) {
            continue;
        }
        let Some(to) = moved.get(name) else { continue };
        let start = schema.1.start;
        out.extend(&chars[copied..start]);
        out.push_str(to);
        copied = span.end;
        replaced += 1;
    }
    out.extend(&chars[copied..]);
    (out, replaced)
}

/// Every identifier `body` uses (folded to lower case unless quoted), with the fields it reads
/// of the record `record` (`new.id` gives `id` for `new`).
pub(crate) fn identifiers(body: &str, record: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let tokens = tokens(body);
    let mut idents = BTreeSet::new();
    let mut fields = BTreeSet::new();
    for (i, (token, _)) in tokens.iter().enumerate() {
        let Token::Ident(ident) = token else { continue };
        idents.insert(ident.clone());
        if i >= 2
            && tokens[i - 1].0 == Token::Dot
            && tokens[i - 2].0 == Token::Ident(record.to_owned())
        {
            fields.insert(ident.clone());
        }
    }
    (idents, fields)
}

/// The tokens of `body` with the range of characters each one spans.
fn tokens(body: &str) -> Vec<(Token, Range<usize>)> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let mut ident = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' && chars.get(i + 1) == Some(&'"') {
                    ident.push('"');
                    i += 2;
                } else if chars[i] == '"' {
                    break;
                } else {
                    ident.push(chars[i]);
                    i += 1;
                }
            }
            i += 1;
            out.push((Token::Ident(ident), start..i));
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            out.push((Token::Ident(ident.to_lowercase()), start..i));
        } else {
            // Whitespace is no token: `public . t` names `public.t` as well.
            if c == '.' {
                out.push((Token::Dot, start..i + 1));
            } else if !c.is_whitespace() {
                out.push((Token::Other, start..i + 1));
            }
            i += 1;
        }
    }
    out
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_and_unqualified_names_are_told_apart() {
        let body = "INSERT INTO audit_log (a) VALUES (1); SELECT * FROM public.contacts";
        assert_eq!(
            mentions(body, "audit_log"),
            Mentions {
                qualified: false,
                unqualified: true
            }
        );
        assert_eq!(
            mentions(body, "contacts"),
            Mentions {
                qualified: true,
                unqualified: false
            }
        );
        assert!(!mentions(body, "deals").any());
    }

    #[test]
    fn quoting_case_and_spacing_are_understood() {
        assert!(mentions(r#"SELECT 1 FROM "public"."Deals""#, "Deals").qualified);
        assert!(!mentions(r#"SELECT 1 FROM "public"."Deals""#, "deals").any());
        assert!(mentions("SELECT 1 FROM PUBLIC . DEALS", "deals").qualified);
        assert!(mentions("select nextval('deals_id_seq')", "deals_id_seq").unqualified);
    }

    #[test]
    fn qualified_names_of_moved_objects_are_rewritten_and_nothing_else() {
        let moved = BTreeMap::from([
            ("contacts".to_owned(), "crm.contacts".to_owned()),
            (
                "contacts_id_seq".to_owned(),
                "crm.contacts_id_seq".to_owned(),
            ),
            ("Deals".to_owned(), r#"crm."Deals""#.to_owned()),
        ]);
        let body = "-- public.contacts in a comment stays\n\
                    SELECT nextval('public.contacts_id_seq'), * FROM PUBLIC . contacts c\n\
                    JOIN \"public\".\"Deals\" d ON true JOIN public.stays s ON true\n\
                    WHERE c.contacts = other.contacts";
        let (rewritten, count) = qualify(body, &moved);
        assert_eq!(count, 3, "{rewritten}");
        assert_eq!(
            rewritten,
            "-- public.contacts in a comment stays\n\
             SELECT nextval('crm.contacts_id_seq'), * FROM crm.contacts c\n\
             JOIN crm.\"Deals\" d ON true JOIN public.stays s ON true\n\
             WHERE c.contacts = other.contacts"
        );
        assert!(!mentions(&rewritten, "contacts").qualified);
    }

    #[test]
    fn comments_other_schemas_and_longer_words_do_not_count() {
        let body = "-- reads contacts\n/* contacts too */ SELECT * FROM crm.contacts, contacts_old";
        assert!(!mentions(body, "contacts").any());
    }
}
