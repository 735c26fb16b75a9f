//! The abstract stack machine: biscuit-auth's expression evaluator run
//! over value sizes instead of values, one operation at a time.

use biscuit_auth::format::schema::{self, op, op_binary, op_unary, term};

use super::bounds::{
    build_cost, clone_cost, copy_cost, elements, TermBounds, Work, ALLOCATION, SCALAR,
};
use super::regex::regex_cost;

/// Longest expression (in operations, closure bodies included) an
/// attenuation block may hold: deep nesting costs stack in biscuit-auth's
/// printer and parser.
pub(crate) const MAX_EXPRESSION_OPS: usize = 128;

/// `.type()` answers a type name: at most this many bytes ("integer").
const TYPE_NAME_BYTES: u64 = 7;

/// One value on the abstract stack: how large it can be (and, for a
/// string literal, its symbol: a pattern is costed by its text), or a
/// closure.
#[derive(Clone, Copy)]
enum Slot<'a> {
    Value(TermBounds, Option<u64>),
    Closure(&'a schema::OpClosure),
}

/// The text of a symbol of the block being costed.
pub(crate) type Symbols<'s> = &'s dyn Fn(u64) -> &'s str;

/// The abstract stack machine. One per admission; its stack is reused for
/// every expression (it never allocates).
pub(crate) struct Expressions<'a> {
    stack: [Slot<'a>; MAX_EXPRESSION_OPS],
    len: usize,
    /// Where the expression being run (or the closure body) starts.
    base: usize,
    /// What any variable can hold.
    variable: TermBounds,
    /// How many variables are bound: what biscuit-auth copies to run a closure.
    bound: u64,
    /// The stack would outgrow the operation limit (never, for expressions
    /// within it; refused, should it happen).
    overflow: bool,
}

impl<'a> Expressions<'a> {
    /// A machine whose variables hold at most `variable`.
    pub(crate) fn new(variable: TermBounds) -> Self {
        Expressions {
            stack: [Slot::Value(SCALAR, None); MAX_EXPRESSION_OPS],
            len: 0,
            base: 0,
            variable,
            bound: 0,
            overflow: false,
        }
    }

    /// What any variable can hold.
    pub(crate) fn variable(&self) -> TermBounds {
        self.variable
    }

    /// The work of evaluating `ops` once, with `variables` variables bound;
    /// `symbols` reads the block's strings. The expression must hold at
    /// most [`MAX_EXPRESSION_OPS`] operations.
    pub(crate) fn work(
        &mut self,
        ops: &'a [schema::Op],
        variables: u64,
        symbols: Symbols<'_>,
    ) -> Work {
        self.len = 0;
        self.base = 0;
        self.bound = variables;
        self.overflow = false;
        let (work, _) = self.run(ops, symbols);
        if self.overflow {
            Work::cost(u64::MAX)
        } else {
            work
        }
    }

    /// Runs `ops` on a fresh stack above the current one: its work and how
    /// large its result can be.
    fn run(&mut self, ops: &'a [schema::Op], symbols: Symbols<'_>) -> (Work, TermBounds) {
        let base = self.len;
        let outer = std::mem::replace(&mut self.base, base);
        // biscuit-auth allocates a stack for every run.
        let mut work = Work::cost(ALLOCATION);
        for op in ops {
            match self.step(op, symbols) {
                Some(step) => work = work.plus(step),
                // biscuit-auth stops with an error here.
                None => break,
            }
        }
        let result = match (self.len == base + 1, self.stack.get(base)) {
            (true, Some(Slot::Value(v, _))) => *v,
            _ => SCALAR,
        };
        self.len = base;
        self.base = outer;
        (work, result)
    }

    fn push(&mut self, slot: Slot<'a>) {
        match self.stack.get_mut(self.len) {
            Some(top) => {
                *top = slot;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    fn pop(&mut self) -> Option<Slot<'a>> {
        if self.len <= self.base {
            return None;
        }
        self.len -= 1;
        self.stack.get(self.len).copied()
    }

    fn pop_value(&mut self) -> Option<TermBounds> {
        match self.pop()? {
            Slot::Value(v, _) => Some(v),
            Slot::Closure(_) => None,
        }
    }

    /// One operation: its work, or `None` where biscuit-auth fails.
    fn step(&mut self, op: &'a schema::Op, symbols: Symbols<'_>) -> Option<Work> {
        match op.content.as_ref()? {
            op::Content::Value(t) => {
                let v = self.literal(t);
                let text = match t.content {
                    Some(term::Content::String(i)) => Some(i),
                    _ => None,
                };
                self.push(Slot::Value(v, text));
                // The value is copied onto the stack.
                Some(Work::cost(clone_cost(v)))
            }
            op::Content::Unary(u) => {
                let v = self.pop_value()?;
                let (work, result) = unary(u.kind, v);
                self.push(Slot::Value(result, None));
                Some(work)
            }
            op::Content::Binary(b) => {
                let right = self.pop()?;
                let left = self.pop()?;
                let (work, result) = match (left, right) {
                    (Slot::Value(l, _), Slot::Value(r, pattern)) => {
                        let pattern = pattern.map(symbols);
                        binary(b.kind, l, r, pattern)
                    }
                    (Slot::Value(v, _), Slot::Closure(c))
                    | (Slot::Closure(c), Slot::Value(v, _)) => self.closure(b.kind, v, c, symbols),
                    (Slot::Closure(_), Slot::Closure(_)) => return None,
                };
                self.push(Slot::Value(result, None));
                Some(work)
            }
            op::Content::Closure(c) => {
                self.push(Slot::Closure(c));
                Some(Work::cost(copy_cost(&c.ops).saturating_add(ALLOCATION)))
            }
        }
    }

    /// How large a literal (or a variable's value) can be.
    fn literal(&self, t: &schema::Term) -> TermBounds {
        match &t.content {
            Some(term::Content::Variable(_)) => self.variable,
            // Strings in a term are symbols: no longer than the longest one.
            Some(term::Content::String(_)) => TermBounds {
                elements: 1,
                ..self.variable
            },
            Some(term::Content::Set(_) | term::Content::Array(_) | term::Content::Map(_)) => {
                TermBounds {
                    elements: elements(t),
                    ..self.variable
                }
            }
            _ => SCALAR,
        }
    }

    /// A closure applied to `v`: `.all`/`.any` run the body once per
    /// element, `&&`, `||` and `.try_or` at most once. Each application
    /// copies the bound variables (and builds two sets of their names to
    /// look for shadowing); each run copies the body and binds the element.
    fn closure(
        &mut self,
        kind: i32,
        v: TermBounds,
        c: &'a schema::OpClosure,
        symbols: Symbols<'_>,
    ) -> (Work, TermBounds) {
        use op_binary::Kind;
        // A map of the bound variables and two sets of names, hashed.
        let apply = Work::cost(
            self.bound
                .saturating_mul(clone_cost(self.variable).saturating_add(ALLOCATION))
                .saturating_add(4 * ALLOCATION),
        );
        let outer = self.bound;
        self.bound = outer.saturating_add(c.params.len() as u64);
        let (body, result) = self.run(&c.ops, symbols);
        self.bound = outer;
        let once = body.plus(Work::cost(copy_cost(&c.ops).saturating_add(2)));
        match Kind::from_i32(kind) {
            Some(Kind::All | Kind::Any) => (
                once.times(v.elements)
                    .plus(apply)
                    .plus(Work::cost(clone_cost(v))),
                SCALAR,
            ),
            Some(Kind::LazyAnd | Kind::LazyOr) => (once.plus(apply), SCALAR),
            Some(Kind::TryOr) => (once.plus(apply), v.max(result)),
            // biscuit-auth refuses any other operation on a closure.
            _ => (Work::cost(1), SCALAR),
        }
    }
}

/// The work and result of a unary operation on `v`.
fn unary(kind: i32, v: TermBounds) -> (Work, TermBounds) {
    use op_unary::Kind;
    match Kind::from_i32(kind) {
        Some(Kind::Parens) => (Work::cost(1), v),
        Some(Kind::TypeOf) => (
            Work {
                cost: 1,
                strings: 1,
            },
            TermBounds {
                string_bytes: TYPE_NAME_BYTES,
                ..SCALAR
            },
        ),
        _ => (Work::cost(1), SCALAR),
    }
}

/// The work and result of a binary operation on two values: proportional
/// to the elements and bytes it visits. `pattern` is the right-hand side's
/// text when it is a string literal.
fn binary(kind: i32, l: TermBounds, r: TermBounds, pattern: Option<&str>) -> (Work, TermBounds) {
    use op_binary::Kind;
    let elements = l.elements.saturating_add(r.elements);
    let bytes = l.string_bytes.saturating_add(r.string_bytes);
    let longest = l.string_bytes.max(r.string_bytes);
    // Comparing terms is about two units each.
    let visits = Work::cost(elements.saturating_mul(2).saturating_add(1));
    match Kind::from_i32(kind) {
        // Integer addition (a scalar is never a string).
        Some(Kind::Add) if l.string_bytes == 0 || r.string_bytes == 0 => (Work::cost(1), SCALAR),
        // Or string concatenation: a new, longer string.
        Some(Kind::Add) => (
            Work {
                cost: bytes.saturating_add(ALLOCATION),
                strings: 1,
            },
            TermBounds {
                string_bytes: bytes,
                ..SCALAR
            },
        ),
        Some(Kind::Contains | Kind::Prefix | Kind::Suffix) => {
            (visits.plus(Work::cost(bytes)), SCALAR)
        }
        Some(Kind::Regex) => (Work::cost(regex_cost(pattern, l.string_bytes)), SCALAR),
        Some(
            Kind::Equal | Kind::NotEqual | Kind::HeterogeneousEqual | Kind::HeterogeneousNotEqual,
        ) => (visits, SCALAR),
        // A new set: both walked, the result built.
        Some(Kind::Intersection) => new_set(visits, l.elements.min(r.elements), longest),
        Some(Kind::Union) => new_set(visits, elements, longest),
        // An element (copied) of an array or map: no larger than it.
        Some(Kind::Get) => (Work::cost(clone_cost(l)), l),
        _ => (Work::cost(1), SCALAR),
    }
}

/// A set operation's result of at most `elements` elements and strings of
/// `string_bytes`: both sides walked (`visits` each), the result built.
fn new_set(visits: Work, elements: u64, string_bytes: u64) -> (Work, TermBounds) {
    let result = TermBounds {
        elements,
        string_bytes,
        symbols: 0,
    };
    (
        visits
            .times(2)
            .plus(Work::cost(build_cost(result.elements))),
        result,
    )
}
