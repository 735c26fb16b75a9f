//! [`TokenLimits`] and admission: what an attenuation block may carry,
//! checked once at verification before any Datalog runs (block sizes, a
//! join estimate per query, the cost of its expressions and of one round
//! of rules).

use std::collections::{HashMap, HashSet};

use biscuit_auth::format::schema;
use serde::Serialize;

use super::cost::{self, TermBounds, MAX_EXPRESSION_OPS};
use super::decoded::{DecodedBlock, DecodedToken};
use super::error::TokenError;

/// What a token may carry, checked once at verification, before any Datalog
/// runs. biscuit-auth checks its run limits only between rounds, so a single
/// check joining many predicates (written by anyone who holds a token, in an
/// attenuation block) could run for seconds; such blocks are refused here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenLimits {
    /// Most blocks, authority included.
    pub max_blocks: usize,
    /// Most facts in one attenuation block.
    pub max_facts_per_block: usize,
    /// Most rules in one attenuation block.
    pub max_rules_per_block: usize,
    /// Most checks in one attenuation block.
    pub max_checks_per_block: usize,
    /// Highest estimated cost of one rule or check query: the product, over
    /// its body predicates, of how many facts each could match.
    pub max_query_cost: u64,
    /// Highest estimated cost of evaluating the expressions of one check
    /// query (closures, nested closures, set and string operations costed
    /// recursively, about one unit per operation or element visited) times
    /// its join estimate; and of one round of all rules together, deriving
    /// their facts included (biscuit-auth runs every rule of a round before
    /// it looks at its clock).
    pub max_expression_cost: u64,
}

impl TokenLimits {
    /// No limits: for reading a token's signature (`inspect`), never for
    /// deciding.
    pub fn unlimited() -> Self {
        TokenLimits {
            max_blocks: usize::MAX,
            max_facts_per_block: usize::MAX,
            max_rules_per_block: usize::MAX,
            max_checks_per_block: usize::MAX,
            max_query_cost: u64::MAX,
            max_expression_cost: u64::MAX,
        }
    }
}

impl Default for TokenLimits {
    fn default() -> Self {
        TokenLimits {
            max_blocks: 16,
            max_facts_per_block: 64,
            max_rules_per_block: 16,
            max_checks_per_block: 32,
            max_query_cost: 20_000,
            max_expression_cost: DEFAULT_MAX_EXPRESSION_COST,
        }
    }
}

/// Facts the verifier adds for every request, by predicate, at most.
const REQUEST_FACTS: [(&str, u64); 5] = [
    ("time", 1),
    ("operation", 1),
    ("resource", 1),
    ("parent", 2),
    ("view_setting", 5),
];

/// What matching a rule's body once and deriving its head costs, in the
/// units of [`TokenLimits::max_expression_cost`]: the head's terms are
/// copied and the fact inserted into a set (measured: a rule deriving
/// 20,000 facts takes over 100 ms, and biscuit-auth reads its clock only
/// after every rule has run once).
const DERIVATION_COST: u64 = 100;

/// The default [`TokenLimits::max_expression_cost`]: a few milliseconds of
/// evaluation at most (about 1–10 ns a unit, measured); the expiry check
/// Tessera writes costs 11.
pub const DEFAULT_MAX_EXPRESSION_COST: u64 = 500_000;

/// Bound used for a predicate whose facts are derived by rules (or unknown).
const DERIVED_FACTS_BOUND: u64 = 1000;

/// Refuses attenuation blocks that are too large, whose queries could
/// explode, or whose expressions could take too long: a static,
/// conservative estimate of each query's join size and of its expressions'
/// evaluation cost. `ambient` bounds the terms of the verifier's own facts.
pub(super) fn admit(
    token: &DecodedToken,
    limits: &TokenLimits,
    ambient: TermBounds,
) -> Result<(), TokenError> {
    let mut counts: HashMap<&str, u64> = REQUEST_FACTS.into_iter().collect();
    let mut derived: HashSet<&str> = HashSet::new();
    for block in &token.blocks {
        for f in &block.proto.facts {
            *counts
                .entry(token.symbol(block, f.predicate.name))
                .or_default() += 1;
        }
    }
    for block in token.blocks.iter().skip(1) {
        for r in &block.proto.rules {
            derived.insert(token.symbol(block, r.head.name));
        }
    }
    let bound = |name: &str| {
        if derived.contains(name) {
            DERIVED_FACTS_BOUND
        } else {
            counts.get(name).copied().unwrap_or(DERIVED_FACTS_BOUND)
        }
    };
    // A predicate with no variable matches at most one fact.
    let factor = |block: &DecodedBlock, p: &schema::Predicate| {
        if p.terms.iter().any(is_variable) {
            bound(token.symbol(block, p.name))
        } else {
            1
        }
    };
    let cost = |block: &DecodedBlock, rule: &schema::Rule| {
        rule.body
            .iter()
            .fold(1u64, |acc, p| acc.saturating_mul(factor(block, p)))
    };
    let mut expressions = None;
    let mut rules_cost = 0u64;
    for decoded in token.blocks.iter().skip(1) {
        let block = &decoded.proto;
        if block.facts.len() > limits.max_facts_per_block {
            return Err(TokenError::TooExpensive("too many facts in a block"));
        }
        if block.rules.len() > limits.max_rules_per_block {
            return Err(TokenError::TooExpensive("too many rules in a block"));
        }
        if block.checks.len() > limits.max_checks_per_block {
            return Err(TokenError::TooExpensive("too many checks in a block"));
        }
        let rules = block.rules.iter().map(|r| (r, true));
        let checks = block
            .checks
            .iter()
            .flat_map(|c| c.queries.iter().map(|q| (q, false)));
        for (query, is_rule) in rules.chain(checks) {
            if query
                .expressions
                .iter()
                .any(|e| cost::op_count(&e.ops) > MAX_EXPRESSION_OPS as u64)
            {
                return Err(TokenError::TooExpensive("an expression is too long"));
            }
            let join = cost(decoded, query);
            if join > limits.max_query_cost {
                return Err(TokenError::TooExpensive(
                    "a rule or check could match too many facts",
                ));
            }
            let evaluation = if query.expressions.is_empty() {
                0
            } else {
                let machine = expressions
                    .get_or_insert_with(|| cost::Expressions::new(term_bounds(token, ambient)));
                let symbols = |i| token.symbol(decoded, i);
                expression_cost(machine, query, &symbols)
            };
            // A check: one query between two clock readings. The rules: all
            // of them, once each per round, before the clock is read.
            if is_rule {
                let round = join.saturating_mul(evaluation.saturating_add(DERIVATION_COST));
                rules_cost = rules_cost.saturating_add(round);
                if rules_cost > limits.max_expression_cost {
                    return Err(TokenError::TooExpensive(
                        "the rules could take too long to evaluate",
                    ));
                }
            } else if join.saturating_mul(evaluation) > limits.max_expression_cost {
                return Err(TokenError::TooExpensive(
                    "an expression could take too long to evaluate",
                ));
            }
        }
    }
    Ok(())
}

fn is_variable(t: &schema::Term) -> bool {
    matches!(t.content, Some(schema::term::Content::Variable(_)))
}

/// The cost of evaluating every expression of `query` once (for one body match).
fn expression_cost<'a>(
    machine: &mut cost::Expressions<'a>,
    query: &'a schema::Rule,
    symbols: cost::Symbols<'_>,
) -> u64 {
    // Every variable the body binds is copied each time a closure runs.
    let variables = query
        .body
        .iter()
        .flat_map(|p| &p.terms)
        .filter(|t| is_variable(t))
        .count() as u64;
    let work = query
        .expressions
        .iter()
        .fold(cost::Work::default(), |sum, e| {
            sum.plus(machine.work(&e.ops, variables, symbols))
        });
    work.total(machine.variable().symbols)
}

/// What any variable of the token's queries can be bound to: the largest
/// term of any fact or rule head of the token, or of the verifier's own
/// facts (`ambient`); strings no longer than the longest symbol.
fn term_bounds(token: &DecodedToken, ambient: TermBounds) -> TermBounds {
    // Every block's own symbols: a third party's, and the first-party
    // blocks' shared table, block by block.
    let mut bounds = ambient;
    for block in &token.blocks {
        bounds = bounds.covering_symbols(&block.proto.symbols);
        let heads = block.proto.rules.iter().map(|r| &r.head);
        for p in block.proto.facts.iter().map(|f| &f.predicate).chain(heads) {
            bounds = p.terms.iter().fold(bounds, TermBounds::covering);
        }
    }
    bounds
}

#[cfg(test)]
mod tests {
    use biscuit_auth::builder::BlockBuilder;
    use biscuit_auth::{Biscuit, KeyPair};
    use chrono::Utc;

    use super::*;
    use crate::model::{Id, Operation, Resource, Restriction};
    use crate::token::attenuate::restriction_block;
    use crate::token::decoded::decode_blocks;

    /// A token made of `blocks` (the first is the authority), decoded.
    fn decoded(blocks: &[&BlockBuilder]) -> DecodedToken {
        let (authority, rest) = blocks.split_first().unwrap();
        let mut token = Biscuit::builder()
            .merge((*authority).clone())
            .build(&KeyPair::new())
            .unwrap();
        for block in rest {
            token = token.append((*block).clone()).unwrap();
        }
        decode_blocks(&token.to_vec().unwrap()).unwrap()
    }

    #[test]
    fn admission_refuses_join_bombs_and_admits_tessera_attenuations() {
        let block = |code: &str| BlockBuilder::new().code(code).unwrap();
        let admit =
            |blocks: &[&BlockBuilder], limits| admit(&decoded(blocks), limits, TermBounds::REQUEST);
        let authority = block("right(\"view\", \"v\", \"read\"); kind(\"guest\");");
        let limits = &TokenLimits::default();
        let ours = restriction_block(&Restriction {
            operations: Some(Operation::parse_list("read").unwrap()),
            resource: Some(Resource::workspace(Id::new("ws").unwrap())),
            expires_at: None,
            label: None,
        })
        .unwrap();
        assert_eq!(admit(&[&authority, &ours], limits), Ok(()));
        let bomb = block("check if view_setting($a, $b, $c), view_setting($d, $e, $f), view_setting($g, $h, $i), view_setting($j, $k, $l), view_setting($m, $n, $o), view_setting($p, $q, $r), view_setting($s, $t, $u);");
        assert_eq!(
            admit(&[&authority, &bomb], limits),
            Err(TokenError::TooExpensive(
                "a rule or check could match too many facts"
            ))
        );
        // The same join in the authority block (the issuer's) is not judged.
        assert_eq!(admit(&[&bomb], limits), Ok(()));
        let constants =
            block("check if query(1), query(2), query(3), query(4); q($x) <- query($x);");
        assert_eq!(admit(&[&authority, &constants], limits), Ok(()));
        // A rule in a later block makes its head unbounded.
        let derived = block("q($x) <- view_setting($x, $n, $b); check if q($a), q($b), q($c);");
        assert_eq!(
            admit(&[&authority, &derived], limits),
            Err(TokenError::TooExpensive(
                "a rule or check could match too many facts"
            ))
        );
        let facts: String = (0..65).map(|i| format!("f({i});")).collect();
        assert_eq!(
            admit(&[&authority, &block(&facts)], limits),
            Err(TokenError::TooExpensive("too many facts in a block"))
        );
    }

    /// The smallest `max_expression_cost` that admits `code` appended to a
    /// guest-like authority block.
    fn expression_cost_of(code: &str) -> u64 {
        let authority = BlockBuilder::new()
            .code("right(\"view\", \"v\", \"read\"); kind(\"guest\");")
            .unwrap();
        let token = decoded(&[&authority, &BlockBuilder::new().code(code).unwrap()]);
        let admits = |max_expression_cost| {
            let limits = TokenLimits {
                max_expression_cost,
                ..TokenLimits::unlimited()
            };
            admit(&token, &limits, TermBounds::REQUEST).is_ok()
        };
        let (mut low, mut high) = (0u64, u64::MAX);
        while low < high {
            let mid = low + (high - low) / 2;
            if admits(mid) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        low
    }

    #[test]
    fn admission_costs_expressions_recursively() {
        let ours = restriction_block(&Restriction {
            operations: None,
            resource: None,
            expires_at: Some(Utc::now()),
            label: None,
        })
        .unwrap();
        let expiry = expression_cost_of(&ours.to_string());
        assert!((1..=12).contains(&expiry), "expiry check costs {expiry}");
        let set = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let one = expression_cost_of(&format!(
            "s({{{}}}); check if s($s), $s.all($a -> $a >= 0);",
            set(42)
        ));
        let two = expression_cost_of(&format!(
            "s({{{}}}); check if s($s), $s.all($a -> $s.all($b -> $b >= $a));",
            set(42)
        ));
        // Nested closures multiply: the inner one runs once per element.
        assert!(two > 42 * one / 2, "one level {one}, two levels {two}");
        assert!(two > DEFAULT_MAX_EXPRESSION_COST / 2);
        // A larger set in any fact (here the authority's) is what a variable may hold.
        let wider = expression_cost_of(&format!(
            "s({{{}}}); t({{{}}}); check if s($s), $s.all($a -> $a >= 0);",
            set(42),
            set(60)
        ));
        assert!(wider > one, "{wider} > {one}");
        // A union's result is larger than either side.
        let union = expression_cost_of(&format!(
            "s({{{}}}); check if s($s), $s.union($s).union($s).all($a -> $a >= 0);",
            set(42)
        ));
        assert!(union > 3 * one, "{union} > 3 × {one}");
        // Every `.matches()` compiles its pattern: a plain one is cheap, a
        // counted repetition of a Unicode class is not, nor is a pattern
        // that is not a literal (it could be any string of any fact).
        let regex = |pattern: &str| {
            expression_cost_of(&format!(
                "p(\"x\"); check if resource($k, $x), p($p), $x.matches({pattern});"
            ))
        };
        let plain = regex("\"^v_[0-9]+$\"");
        assert!(plain < DEFAULT_MAX_EXPRESSION_COST / 10, "{plain}");
        for evil in [
            "\"\\\\w{100}\"",
            "\"[\\\\p{L}]{500}\"",
            "\"x{9}{9}{9}{9}{9}{9}\"",
            "$p",
        ] {
            let cost = regex(evil);
            assert!(cost > DEFAULT_MAX_EXPRESSION_COST, "{evil}: {cost}");
        }
        // Strings an expression makes are searched for in a growing table.
        let strings = expression_cost_of(
            "s({\"a\", \"b\", \"c\"}); check if s($s), $s.all($a -> $s.all($b -> ($a + $b).length() > 0));",
        );
        let ints = expression_cost_of(
            "s({1, 2, 3}); check if s($s), $s.all($a -> $s.all($b -> ($a + 1) > 0));",
        );
        assert!(strings > ints, "{strings} > {ints}");
    }

    #[test]
    fn admission_bounds_one_round_of_rules() {
        let facts = |n: usize| (0..n).map(|i| format!("n({i});")).collect::<String>();
        // 1,600 derivations in a round: admitted (the fact limit stops it).
        let pairs = format!("{}p($a, $b) <- n($a), n($b);", facts(40));
        assert_eq!(expression_cost_of(&pairs), 1600 * DERIVATION_COST);
        // 19,683 derivations (a join within max_query_cost), before the
        // clock is read: over 100 ms.
        let cubes = format!("{}c($a, $b, $c) <- n($a), n($b), n($c);", facts(27));
        assert!(expression_cost_of(&cubes) > DEFAULT_MAX_EXPRESSION_COST);
        // Rules add up: sixteen small ones are one round.
        let many: String = (0..16)
            .map(|r| format!("p{r}($a, $b) <- n($a), n($b);"))
            .collect();
        let block = BlockBuilder::new()
            .code(format!("{}{many}", facts(20)))
            .unwrap();
        let authority = BlockBuilder::new().code("kind(\"guest\");").unwrap();
        assert_eq!(
            admit(
                &decoded(&[&authority, &block]),
                &TokenLimits::default(),
                TermBounds::REQUEST
            ),
            Err(TokenError::TooExpensive(
                "the rules could take too long to evaluate"
            ))
        );
    }
}
