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
//! allocation counts [`ALLOCATION`](bounds::ALLOCATION)). Strings an expression makes (`+`,
//! `.type()`) go into a table that lives for one body match and is searched
//! linearly at each insertion: their cost grows with the square of their
//! number, which is counted per query. Variables
//! can only be bound to terms of facts (expressions filter, they never bind),
//! so whatever a variable holds is bounded by the largest term the token,
//! the policy or the request can supply.
//!
//! The value-size model (`bounds.rs`), the pattern-compilation estimate
//! (`regex.rs`) and the abstract machine itself (`machine.rs`).

mod bounds;
mod machine;
mod regex;

pub use bounds::TermBounds;
pub(crate) use bounds::{op_count, Work};
pub(crate) use machine::{Expressions, Symbols, MAX_EXPRESSION_OPS};
