//! The value-size model: [`TermBounds`], what a value can hold; [`Work`],
//! what evaluating costs, in units of one operation or element visited;
//! and what copying or building values and operation lists costs.

use biscuit_auth::format::schema::{self, op, term};

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
pub(super) const SCALAR: TermBounds = TermBounds {
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
    pub(super) fn cost(cost: u64) -> Work {
        Work { cost, strings: 0 }
    }

    /// Both.
    pub(crate) fn plus(self, other: Work) -> Work {
        Work {
            cost: self.cost.saturating_add(other.cost),
            strings: self.strings.saturating_add(other.strings),
        }
    }

    pub(super) fn times(self, n: u64) -> Work {
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

/// How many terms `term` holds, itself and nested elements included.
pub(super) fn elements(term: &schema::Term) -> u64 {
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
pub(super) fn copy_cost(ops: &[schema::Op]) -> u64 {
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
pub(super) fn clone_cost(v: TermBounds) -> u64 {
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
pub(super) fn build_cost(elements: u64) -> u64 {
    elements.saturating_mul(8).saturating_add(ALLOCATION)
}
