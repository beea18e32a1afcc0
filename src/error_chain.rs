//! An error as one line for people: its message and its sources'.

use std::error::Error;

/// The error's message followed by each source's, skipping sources the message before them
/// already quotes (many of cotenant's errors embed their source, as `"on environment `prod`:
/// {source}"`). Only `Display` is used: a `Debug` form could show a secret.
///
/// ```no_run
/// # async fn run(cotenant: cotenant::Cotenant) {
/// use cotenant::provision::ProjectSettings;
///
/// let project = "reli".parse().unwrap();
/// if let Err(error) = cotenant.provision(&project, &ProjectSettings::default()).await {
///     eprintln!("error: {}", cotenant::error_chain(&error));
/// }
/// # }
/// ```
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    /// An error with a message and an optional source, like the library's.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn the_chain_names_every_source_once() {
        let refused = Layer("connection refused", None);
        let embedded = Layer(
            "on environment `prod`: connecting to db:5432: connection refused",
            Some(Box::new(refused)),
        );
        assert_eq!(
            error_chain(&embedded),
            "on environment `prod`: connecting to db:5432: connection refused"
        );
        let wrapped = Layer("reading the catalog", Some(Box::new(embedded)));
        assert_eq!(
            error_chain(&wrapped),
            "reading the catalog: on environment `prod`: connecting to db:5432: connection refused"
        );
    }
}
