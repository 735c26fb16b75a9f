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
//! does for it, in units of one operation or one element visited (an
//! allocation counts [`ALLOCATION`]). Strings an expression makes (`+`,
//! `.type()`) go into a table that lives for one body match and is searched
//! linearly at each insertion: their cost grows with the square of their
//! number, which is counted per query. Variables
//! can only be bound to terms of facts (expressions filter, they never bind),
//! so whatever a variable holds is bounded by the largest term the token,
//! the policy or the request can supply.

use biscuit_auth::format::schema::{self, op, op_binary, op_unary, term};

/// Longest expression (in operations, closure bodies included) an
/// attenuation block may hold: deep nesting costs stack in biscuit-auth's
/// printer and parser.
pub(crate) const MAX_EXPRESSION_OPS: usize = 128;

/// Upper bounds on the terms a fact can hold: what any variable may be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermBounds {
    /// Most terms in one term, itself and nested elements of sets, arrays
    /// and maps included (1 for a scalar).
    pub elements: u64,
    /// Longest string, in bytes.
    pub string_bytes: u64,
    /// Most symbols in the verifier's table besides the token's: what
    /// biscuit-auth searches, one by one, each time an expression makes a
    /// string.
    pub symbols: u64,
}

impl TermBounds {
    /// What the facts Tessera adds for a request can hold: scalars, and
    /// strings no longer than an id (64 bytes) or a default symbol.
    pub const REQUEST: TermBounds = TermBounds {
        elements: 1,
        string_bytes: 64,
        symbols: 64,
    };

    /// The larger of two bounds, field by field.
    pub fn max(self, other: TermBounds) -> TermBounds {
        TermBounds {
            elements: self.elements.max(other.elements),
            string_bytes: self.string_bytes.max(other.string_bytes),
            symbols: self.symbols.max(other.symbols),
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

    /// These bounds, widened to cover every string of a symbol table that
    /// joins the verifier's.
    pub(crate) fn covering_symbols(self, symbols: &[String]) -> TermBounds {
        let longest = symbols.iter().map(String::len).max().unwrap_or(0);
        TermBounds {
            string_bytes: self.string_bytes.max(longest as u64),
            symbols: self.symbols.saturating_add(symbols.len() as u64),
            ..self
        }
    }
}

/// A scalar: an integer, date, boolean, null or bytes.
const SCALAR: TermBounds = TermBounds {
    elements: 1,
    string_bytes: 0,
    symbols: 0,
};

/// What one memory allocation costs, in units.
pub(crate) const ALLOCATION: u64 = 8;

/// The work of evaluating something: its cost, and how many strings it
/// makes (each searched for in, then added to, the match's string table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Units of work, string-table searches excepted.
    pub(crate) cost: u64,
    /// Strings made.
    pub(crate) strings: u64,
}

impl Work {
    fn cost(cost: u64) -> Work {
        Work { cost, strings: 0 }
    }

    /// Both.
    pub(crate) fn plus(self, other: Work) -> Work {
        Work {
            cost: self.cost.saturating_add(other.cost),
            strings: self.strings.saturating_add(other.strings),
        }
    }

    fn times(self, n: u64) -> Work {
        Work {
            cost: self.cost.saturating_mul(n),
            strings: self.strings.saturating_mul(n),
        }
    }

    /// The total for one body match, whose string table starts with
    /// `symbols` entries: each string made searches the table so far.
    pub(crate) fn total(self, symbols: u64) -> u64 {
        self.strings
            .saturating_mul(self.strings.saturating_add(symbols))
            .saturating_add(self.cost)
    }
}

/// `.type()` answers a type name: at most this many bytes ("integer").
const TYPE_NAME_BYTES: u64 = 7;

/// The cost of one `.matches()` whose pattern is not a literal (a
/// variable's): biscuit-auth compiles the pattern at every evaluation, and
/// a 17-byte pattern (`[\p{L}\p{N}]{500}`) takes about 250 ms to compile.
/// Far above the default `max_expression_cost`.
pub(crate) const REGEX_COST: u64 = 50_000_000;

/// What compiling any pattern costs, at least (the regex crate builds
/// several engines).
const REGEX_BASE: u64 = 5_000;

/// What one byte of compiled pattern costs to compile.
const REGEX_UNIT: u64 = 200;

/// How many pattern bytes one Unicode-wide item (`\w`, `\p{..}`, `.`, a
/// negated class, a flag group, a non-ASCII character) may compile to.
const REGEX_WIDE_ITEM: u64 = 1_000;

/// The cost of one `.matches()` of `pattern` (when a literal) on a string
/// of at most `haystack` bytes: compiling it, then a scan of the string.
fn regex_cost(pattern: Option<&str>, haystack: u64) -> u64 {
    let Some(pattern) = pattern else {
        return REGEX_COST.saturating_add(haystack);
    };
    let size = regex_size(pattern);
    let scan = haystack.saturating_mul(size / 64 + 1);
    size.saturating_mul(REGEX_UNIT)
        .saturating_add(REGEX_BASE)
        .saturating_add(scan)
}

/// An upper bound on how large `pattern` compiles, in pattern bytes: its
/// length plus what its Unicode-wide items expand to, times every counted
/// repetition (`{n}`, `{n,}`, `{n,m}`) as if each wrapped the whole
/// pattern, which nested repetitions may.
pub(crate) fn regex_size(pattern: &str) -> u64 {
    let bytes = pattern.as_bytes();
    let mut wide = 0u64;
    let mut repeat = 1u64;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        match b {
            b'\\' => {
                if next.is_some_and(|c| !c.is_ascii_punctuation()) {
                    wide += 1;
                }
                i += 1;
            }
            b'.' => wide += 1,
            b'[' if next == Some(b'^') => wide += 1,
            b'(' if next == Some(b'?') && bytes.get(i + 2) != Some(&b':') => wide += 1,
            b'{' => {
                let (count, end) = repetition(bytes, i + 1);
                repeat = repeat.saturating_mul(count.max(1));
                i = end;
            }
            0x80.. => wide += 1,
            _ => {}
        }
        i += 1;
    }
    wide.saturating_mul(REGEX_WIDE_ITEM)
        .saturating_add(bytes.len() as u64)
        .saturating_mul(repeat)
}

/// The largest count a repetition starting at `start` (after `{`) allows,
/// one more when it is open-ended, and where it ends (its `}`).
fn repetition(bytes: &[u8], start: usize) -> (u64, usize) {
    let mut largest = 0u64;
    let mut current = 0u64;
    let mut open = false;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                current = current
                    .saturating_mul(10)
                    .saturating_add(u64::from(b - b'0'));
                open = false;
            }
            b',' => {
                largest = largest.max(current);
                current = 0;
                open = true;
            }
            b'}' => break,
            _ => {}
        }
        i += 1;
    }
    largest = largest.max(current);
    (
        if open {
            largest.saturating_add(1)
        } else {
            largest
        },
        i,
    )
}

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

/// What copying `ops` costs: every operation, and an allocation for the
/// list and for each closure's.
fn copy_cost(ops: &[schema::Op]) -> u64 {
    ops.iter().fold(ALLOCATION, |n, op| {
        let body = match &op.content {
            Some(op::Content::Closure(c)) => copy_cost(&c.ops).saturating_add(ALLOCATION),
            _ => 0,
        };
        n.saturating_add(1).saturating_add(body)
    })
}

/// What copying a value of size `v` costs: every element, and a
/// collection's tree allocates a node per few elements.
fn clone_cost(v: TermBounds) -> u64 {
    if v.elements <= 1 {
        1
    } else {
        (v.elements / 8)
            .saturating_add(1)
            .saturating_mul(ALLOCATION)
            .saturating_add(v.elements.saturating_mul(2))
    }
}

/// What building a set of `elements` costs: a tree insertion each.
fn build_cost(elements: u64) -> u64 {
    elements.saturating_mul(8).saturating_add(ALLOCATION)
}

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
        Some(Kind::Intersection) => {
            let result = TermBounds {
                elements: l.elements.min(r.elements),
                string_bytes: longest,
                symbols: 0,
            };
            (
                visits
                    .times(2)
                    .plus(Work::cost(build_cost(result.elements))),
                result,
            )
        }
        Some(Kind::Union) => {
            let result = TermBounds {
                elements,
                string_bytes: longest,
                symbols: 0,
            };
            (
                visits
                    .times(2)
                    .plus(Work::cost(build_cost(result.elements))),
                result,
            )
        }
        // An element (copied) of an array or map: no larger than it.
        Some(Kind::Get) => (Work::cost(clone_cost(l)), l),
        _ => (Work::cost(1), SCALAR),
    }
}
