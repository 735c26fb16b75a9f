//! Expiry: the one `check if time($t), $t <= date` form Tessera writes,
//! and recognising that form in a serialized check or in printed Datalog.

use std::time::SystemTime;

use biscuit_auth::builder::{
    self, date, pred, var, BlockBuilder, Check, CheckKind, Convert, Expression, Op, Term,
};
use biscuit_auth::datalog::SymbolTable;
use biscuit_auth::format::{convert, schema};
use chrono::{DateTime, Utc};

use super::guards::{guard_parser, nesting_depth, MAX_NESTING};

fn time_term(at: DateTime<Utc>) -> Term {
    date(&SystemTime::from(at))
}

/// `check if time($t), $t <= at`: the one form of expiry Tessera writes.
pub(super) fn expiry_check(at: DateTime<Utc>) -> Check {
    let query = builder::constrained_rule(
        "query",
        &[] as &[Term],
        &[pred("time", &[var("t")])],
        &[Expression {
            ops: vec![
                Op::Value(var("t")),
                Op::Value(time_term(at)),
                Op::Binary(builder::Binary::LessOrEqual),
            ],
        }],
    );
    Check {
        queries: vec![query],
        kind: CheckKind::One,
    }
}

/// The expiry a check states, when it is the `time($t), $t <= date` (or `<`) form.
pub(super) fn expiry_of<'a>(
    check: &schema::Check,
    symbol: impl Fn(u64) -> &'a str,
) -> Option<DateTime<Utc>> {
    use schema::op::Content::{Binary, Value};
    use schema::op_binary::Kind::{LessOrEqual, LessThan};
    use schema::term::Content::{Date, Variable};
    if check.kind.unwrap_or_default() != schema::check::Kind::One as i32 {
        return None;
    }
    let [query] = check.queries.as_slice() else {
        return None;
    };
    let [time] = query.body.as_slice() else {
        return None;
    };
    let [schema::Term {
        content: Some(Variable(t)),
    }] = time.terms.as_slice()
    else {
        return None;
    };
    let [expression] = query.expressions.as_slice() else {
        return None;
    };
    fn value(op: &schema::Op) -> Option<&schema::term::Content> {
        match &op.content {
            Some(Value(schema::Term { content })) => content.as_ref(),
            _ => None,
        }
    }
    match expression.ops.as_slice() {
        [variable, date, schema::Op {
            content: Some(Binary(op)),
        }] if symbol(time.name) == "time"
            && (op.kind == LessOrEqual as i32 || op.kind == LessThan as i32) =>
        {
            match (value(variable), value(date)) {
                (Some(Variable(v)), Some(Date(secs))) if v == t => {
                    DateTime::from_timestamp(i64::try_from(*secs).ok()?, 0)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// True when `check_source` (one printed check) is an expiry check.
pub fn is_expiry_check(check_source: &str) -> bool {
    if nesting_depth(check_source) > MAX_NESTING {
        return false;
    }
    let mut symbols = SymbolTable::new();
    guard_parser(|| BlockBuilder::new().code(format!("{check_source};")))
        .and_then(Result::ok)
        .and_then(|b| {
            let check =
                convert::token_check_to_proto_check(&b.checks.first()?.convert(&mut symbols));
            expiry_of(&check, |i| symbols.get_symbol(i).unwrap_or_default())
        })
        .is_some()
}
