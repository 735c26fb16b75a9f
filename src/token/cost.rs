//! What evaluating an attenuation block's expressions can cost, bounded
//! before any Datalog runs.
//!
//! biscuit-auth evaluates an expression on a stack machine, once for every
//! combination of facts its query's body matches, and checks its clock only
//! between queries: one query's expressions must be cheap on their own. In
//! Datalog 3.3 an expression can carry closures (`.all`, `.any`, `&&`, `||`,
//! `.try_or`): `.all` and `.any` run their body once per element of a set,
//! array or map, and nested closures multiply, so a 1 KB block could ask for
//! 42⁵ evaluations. String concatenation grows strings, `.union` grows sets,
//! and `.matches` compiles its pattern afresh at every evaluation.
//!
//! [`Expressions`] runs the same stack machine over sizes instead of values:
//! every value is bounded by how many elements and string bytes it can hold
//! ([`TermBounds`]), and every operation costs about the work biscuit-auth
//! does for it, in units of one operation or one element visited. Variables
//! can only be bound to terms of facts (expressions filter, they never bind),
//! so whatever a variable holds is bounded by the largest term the token,
//! the policy or the request can supply.

use biscuit_auth::format::schema::{self, op, op_binary, op_unary, term};

use super::MAX_EXPRESSION_OPS;

/// Upper bounds on the terms a fact can hold: what any variable may be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermBounds {
    /// Most terms in one term, itself and nested elements of sets, arrays
    /// and maps included (1 for a scalar).
    pub elements: u64,
    /// Longest string, in bytes.
    pub string_bytes: u64,
}

impl TermBounds {
    /// What the facts Tessera adds for a request can hold: scalars, and
    /// strings no longer than an id (64 bytes) or a default symbol.
    pub const REQUEST: TermBounds = TermBounds {
        elements: 1,
        string_bytes: 64,
    };

    /// The larger of two bounds, field by field.
    pub fn max(self, other: TermBounds) -> TermBounds {
        TermBounds {
            elements: self.elements.max(other.elements),
            string_bytes: self.string_bytes.max(other.string_bytes),
        }
    }

    /// These bounds, widened to cover `term` (whose strings are symbols,
    /// bounded separately by the symbol table).
    pub(crate) fn covering(self, term: &schema::Term) -> TermBounds {
        TermBounds {
            elements: self.elements.max(elements(term)),
            ..self
        }
    }

    /// These bounds, widened to cover every string of a symbol table.
    pub(crate) fn covering_symbols(self, symbols: &[String]) -> TermBounds {
        let longest = symbols.iter().map(String::len).max().unwrap_or(0);
        TermBounds {
            string_bytes: self.string_bytes.max(longest as u64),
            ..self
        }
    }
}

/// A scalar: an integer, date, boolean, null or bytes.
const SCALAR: TermBounds = TermBounds {
    elements: 1,
    string_bytes: 0,
};

/// `.type()` answers a type name: at most this many bytes ("integer").
const TYPE_NAME_BYTES: u64 = 7;

/// The cost of one `.matches()`: biscuit-auth compiles the pattern at every
/// evaluation, and a 17-byte pattern (`[\p{L}\p{N}]{500}`) takes about
/// 250 ms to compile. Above the default `max_expression_cost`, so an
/// attenuation block cannot use `.matches()` unless the operator raises it.
pub(crate) const REGEX_COST: u64 = 25_000_000;

/// How many terms `term` holds, itself and nested elements included.
fn elements(term: &schema::Term) -> u64 {
    let nested = |terms: &[schema::Term]| {
        terms
            .iter()
            .fold(1u64, |n, t| n.saturating_add(elements(t)))
    };
    match &term.content {
        Some(term::Content::Set(s)) => nested(&s.set),
        Some(term::Content::Array(a)) => nested(&a.array),
        Some(term::Content::Map(m)) => m.entries.iter().fold(1u64, |n, e| {
            n.saturating_add(1).saturating_add(elements(&e.value))
        }),
        _ => 1,
    }
}

/// How many operations `ops` holds, closure bodies included: what
/// biscuit-auth copies each time it pushes or runs a closure.
pub(crate) fn op_count(ops: &[schema::Op]) -> u64 {
    ops.iter().fold(0u64, |n, op| {
        let body = match &op.content {
            Some(op::Content::Closure(c)) => op_count(&c.ops),
            _ => 0,
        };
        n.saturating_add(1).saturating_add(body)
    })
}

/// One value on the abstract stack: how large it can be, or a closure.
#[derive(Clone, Copy)]
enum Slot<'a> {
    Value(TermBounds),
    Closure(&'a schema::OpClosure),
}

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
            stack: [Slot::Value(SCALAR); MAX_EXPRESSION_OPS],
            len: 0,
            base: 0,
            variable,
            bound: 0,
            overflow: false,
        }
    }

    /// The cost of evaluating `ops` once, with `variables` variables bound.
    /// The expression must hold at most [`MAX_EXPRESSION_OPS`] operations.
    pub(crate) fn cost(&mut self, ops: &'a [schema::Op], variables: u64) -> u64 {
        self.len = 0;
        self.base = 0;
        self.bound = variables;
        self.overflow = false;
        let (cost, _) = self.run(ops);
        if self.overflow {
            u64::MAX
        } else {
            cost
        }
    }

    /// Runs `ops` on a fresh stack above the current one: its cost and how
    /// large its result can be.
    fn run(&mut self, ops: &'a [schema::Op]) -> (u64, TermBounds) {
        let base = self.len;
        let outer = std::mem::replace(&mut self.base, base);
        let mut cost = 0u64;
        for op in ops {
            match self.step(op) {
                Some(step) => cost = cost.saturating_add(step),
                // biscuit-auth stops with an error here.
                None => {
                    cost = cost.saturating_add(1);
                    break;
                }
            }
        }
        let result = match (self.len == base + 1, self.stack.get(base)) {
            (true, Some(Slot::Value(v))) => *v,
            _ => SCALAR,
        };
        self.len = base;
        self.base = outer;
        (cost, result)
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
            Slot::Value(v) => Some(v),
            Slot::Closure(_) => None,
        }
    }

    /// One operation: its cost, or `None` where biscuit-auth fails.
    fn step(&mut self, op: &'a schema::Op) -> Option<u64> {
        match op.content.as_ref()? {
            op::Content::Value(t) => {
                let v = self.literal(t);
                self.push(Slot::Value(v));
                // The value is copied onto the stack.
                Some(v.elements.saturating_add(1))
            }
            op::Content::Unary(u) => {
                let v = self.pop_value()?;
                self.push(Slot::Value(unary(u.kind, v)));
                Some(1)
            }
            op::Content::Binary(b) => {
                let right = self.pop()?;
                let left = self.pop()?;
                let (cost, result) = match (left, right) {
                    (Slot::Value(l), Slot::Value(r)) => binary(b.kind, l, r),
                    (Slot::Value(v), Slot::Closure(c)) | (Slot::Closure(c), Slot::Value(v)) => {
                        self.closure(b.kind, v, c)
                    }
                    (Slot::Closure(_), Slot::Closure(_)) => return None,
                };
                self.push(Slot::Value(result));
                Some(cost)
            }
            op::Content::Closure(c) => {
                self.push(Slot::Closure(c));
                Some(op_count(&c.ops).saturating_add(1))
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
                string_bytes: self.variable.string_bytes,
            },
            Some(
                term::Content::Set(_) | term::Content::Array(_) | term::Content::Map(_),
            ) => TermBounds {
                elements: elements(t),
                string_bytes: self.variable.string_bytes,
            },
            _ => SCALAR,
        }
    }

    /// A closure applied to `v`: `.all`/`.any` run the body once per
    /// element, `&&`, `||` and `.try_or` at most once; each run copies the
    /// bound variables and the body's operations.
    fn closure(
        &mut self,
        kind: i32,
        v: TermBounds,
        c: &'a schema::OpClosure,
    ) -> (u64, TermBounds) {
        use op_binary::Kind;
        let copy_variables = self
            .bound
            .saturating_mul(self.variable.elements)
            .saturating_add(1);
        let outer = self.bound;
        self.bound = outer.saturating_add(c.params.len() as u64);
        let (body, result) = self.run(&c.ops);
        self.bound = outer;
        let once = op_count(&c.ops).saturating_add(body).saturating_add(1);
        match Kind::from_i32(kind) {
            Some(Kind::All | Kind::Any) => (
                v.elements
                    .saturating_mul(once)
                    .saturating_add(v.elements)
                    .saturating_add(copy_variables),
                SCALAR,
            ),
            Some(Kind::LazyAnd | Kind::LazyOr) => (once.saturating_add(copy_variables), SCALAR),
            Some(Kind::TryOr) => (once.saturating_add(copy_variables), v.max(result)),
            // biscuit-auth refuses any other operation on a closure.
            _ => (1, SCALAR),
        }
    }
}

/// The result of a unary operation on `v`.
fn unary(kind: i32, v: TermBounds) -> TermBounds {
    use op_unary::Kind;
    match Kind::from_i32(kind) {
        Some(Kind::Parens) => v,
        Some(Kind::TypeOf) => TermBounds {
            elements: 1,
            string_bytes: TYPE_NAME_BYTES,
        },
        _ => SCALAR,
    }
}

/// The cost and result of a binary operation on two values: proportional to
/// the elements and bytes it visits.
fn binary(kind: i32, l: TermBounds, r: TermBounds) -> (u64, TermBounds) {
    use op_binary::Kind;
    let elements = l.elements.saturating_add(r.elements);
    let bytes = l.string_bytes.saturating_add(r.string_bytes);
    let longest = l.string_bytes.max(r.string_bytes);
    match Kind::from_i32(kind) {
        // Integer addition, or string concatenation (a new, longer string).
        Some(Kind::Add) => (
            bytes.saturating_add(1),
            TermBounds {
                elements: 1,
                string_bytes: bytes,
            },
        ),
        Some(Kind::Contains | Kind::Prefix | Kind::Suffix) => {
            (elements.saturating_add(bytes).saturating_add(1), SCALAR)
        }
        Some(Kind::Regex) => (REGEX_COST.saturating_add(bytes), SCALAR),
        Some(
            Kind::Equal | Kind::NotEqual | Kind::HeterogeneousEqual | Kind::HeterogeneousNotEqual,
        ) => (elements.saturating_add(1), SCALAR),
        Some(Kind::Intersection) => (
            elements.saturating_add(1),
            TermBounds {
                elements: l.elements.min(r.elements),
                string_bytes: longest,
            },
        ),
        Some(Kind::Union) => (
            elements.saturating_add(1),
            TermBounds {
                elements,
                string_bytes: longest,
            },
        ),
        // An element (copied) of an array or map: no larger than it.
        Some(Kind::Get) => (l.elements.saturating_add(1), l),
        _ => (1, SCALAR),
    }
}
