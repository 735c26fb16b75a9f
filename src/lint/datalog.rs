//! Just enough of Datalog's surface for the lint: statements split at `;`
//! outside strings and comments, each with its kind, line, head predicate,
//! body predicates and `operation("…")` literals. The text has already
//! loaded as a policy, so it is well-formed.

/// What a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `allow if …` / `deny if …`
    Policy,
    /// `head(…) <- body`
    Rule,
    /// `check if …`
    Check,
    /// a fact
    Fact,
}

/// One statement.
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) kind: Kind,
    /// Its line, from 1.
    pub(super) line: usize,
    /// Its text, comments removed, whitespace collapsed.
    pub(super) text: String,
    /// The predicate a rule or fact provides.
    pub(super) head: Option<String>,
    /// The predicates its body names.
    pub(super) body: Vec<String>,
    /// The literal operations it names in `operation("…")`.
    pub(super) operations: Vec<String>,
}

impl Statement {
    /// Its first words, for a message.
    pub(super) fn first_words(&self) -> String {
        self.text.chars().take(60).collect()
    }
}

/// The statements of `text`.
pub(super) fn statements(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut line = 1;
    let mut start = None;
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            current.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                        current.push(' ');
                        break;
                    }
                }
            }
            ';' => {
                if let Some(at) = start.take() {
                    out.push(statement(&current, at));
                }
                current.clear();
            }
            _ => {
                if c == '"' {
                    in_string = true;
                }
                if !c.is_whitespace() && start.is_none() {
                    start = Some(line);
                }
                current.push(c);
            }
        }
    }
    out
}

fn statement(raw: &str, line: usize) -> Statement {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let (kind, head, body) = if text.starts_with("allow if") || text.starts_with("deny if") {
        (Kind::Policy, None, text.as_str())
    } else if text.starts_with("check if") || text.starts_with("check all") {
        (Kind::Check, None, text.as_str())
    } else if let Some((head, body)) = text.split_once("<-") {
        (Kind::Rule, predicates(head).into_iter().next(), body)
    } else {
        (Kind::Fact, predicates(&text).into_iter().next(), "")
    };
    Statement {
        kind,
        line,
        head,
        body: predicates(body),
        operations: operations(body),
        text,
    }
}

/// Identifiers followed by `(`, outside strings, not variables (`$x`) or
/// methods (`.matches(`).
fn predicates(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut skip = false;
    let mut prev = ' ';
    let mut in_string = false;
    for c in text.chars() {
        if in_string {
            in_string = c != '"';
            prev = c;
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            if word.is_empty() {
                skip = prev == '.' || prev == '$';
            }
            word.push(c);
        } else {
            if c == '(' && !word.is_empty() && !skip && !out.contains(&word) {
                out.push(word.clone());
            }
            word.clear();
            in_string = c == '"';
        }
        prev = c;
    }
    out
}

/// The literals of `operation("…")`.
fn operations(text: &str) -> Vec<String> {
    text.match_indices("operation(\"")
        .filter(|(at, _)| {
            *at == 0 || !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .filter_map(|(at, m)| {
            let rest = &text[at + m.len()..];
            rest.split_once('"').map(|(op, _)| op.to_owned())
        })
        .collect()
}
