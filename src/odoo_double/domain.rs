//! Odoo search domains: prefix `&`, `|`, `!` and the comparison operators, evaluated
//! against the double's records the way Odoo does (`false` means empty, many2one compares ids).

use serde_json::Value;

use super::env::Fault;

pub const OPERATORS: &[&str] = &[
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not in",
    "like",
    "ilike",
    "not like",
    "not ilike",
    "=like",
    "=ilike",
    "child_of",
];

#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    True,
    And(Box<Domain>, Box<Domain>),
    Or(Box<Domain>, Box<Domain>),
    Not(Box<Domain>),
    Leaf {
        field: String,
        op: String,
        value: Value,
    },
}

impl Domain {
    /// Whether a leaf of the domain is on `field`.
    pub fn names(&self, field: &str) -> bool {
        match self {
            Domain::True => false,
            Domain::And(a, b) | Domain::Or(a, b) => a.names(field) || b.names(field),
            Domain::Not(d) => d.names(field),
            Domain::Leaf { field: f, .. } => f == field,
        }
    }
}

/// Parses a domain list; `check_field` rejects fields the model lacks (as Odoo does).
pub fn parse(
    domain: &Value,
    model: &str,
    check_field: &dyn Fn(&str) -> bool,
) -> Result<Domain, Fault> {
    let items = match domain {
        Value::Array(items) => items,
        Value::Bool(false) | Value::Null => return Ok(Domain::True),
        other => {
            return Err(Fault::value_error(format!(
                "Domain() invalid item in domain: {}",
                py_repr(other)
            )))
        }
    };
    let mut stack: Vec<Domain> = Vec::new();
    // Odoo reads prefix notation right to left; consecutive terms are implicitly and-ed.
    for item in items.iter().rev() {
        match item {
            Value::String(op) if op == "&" || op == "|" => {
                let (a, b) = (stack.pop(), stack.pop());
                let (Some(a), Some(b)) = (a, b) else {
                    return Err(Fault::value_error(format!(
                        "Domain() invalid item in domain: '{op}'"
                    )));
                };
                stack.push(if op == "&" {
                    Domain::And(Box::new(a), Box::new(b))
                } else {
                    Domain::Or(Box::new(a), Box::new(b))
                });
            }
            Value::String(op) if op == "!" => {
                let Some(a) = stack.pop() else {
                    return Err(Fault::value_error(
                        "Domain() invalid item in domain: '!'".to_string(),
                    ));
                };
                stack.push(Domain::Not(Box::new(a)));
            }
            Value::Array(leaf) if leaf.len() == 3 => {
                let field = leaf[0].as_str().unwrap_or_default().to_string();
                let op = leaf[1].as_str().unwrap_or_default().to_lowercase();
                let repr = format!(
                    "('{}', '{}', {})",
                    field,
                    leaf[1].as_str().unwrap_or_default(),
                    py_repr(&leaf[2])
                );
                if !OPERATORS.contains(&op.as_str()) {
                    return Err(Fault::value_error(format!(
                        "Invalid operator in condition {repr}"
                    )));
                }
                let first = field.split('.').next().unwrap_or_default();
                if !check_field(first) {
                    return Err(Fault::value_error(format!(
                        "Invalid field {model}.{first} in condition {repr}"
                    )));
                }
                stack.push(Domain::Leaf {
                    field,
                    op,
                    value: leaf[2].clone(),
                });
            }
            other => {
                return Err(Fault::value_error(format!(
                    "Domain() invalid item in domain: {}",
                    py_repr(other)
                )))
            }
        }
    }
    let mut result = Domain::True;
    while let Some(d) = stack.pop() {
        result = if result == Domain::True {
            d
        } else {
            Domain::And(Box::new(result), Box::new(d))
        };
    }
    Ok(result)
}

/// A Python-ish rendering of a JSON value, for error messages shaped like Odoo's.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// SQL LIKE with `%` and `_`.
pub fn like(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('_') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

/// Compares one stored value (already reduced: many2one to its id, x2many to a list of ids)
/// with a domain leaf.
pub fn compare(stored: &Value, op: &str, value: &Value) -> bool {
    let is_empty = |v: &Value| {
        matches!(v, Value::Bool(false) | Value::Null) || v.as_array().is_some_and(|a| a.is_empty())
    };
    // x2many: true when any linked id matches.
    if let Value::Array(ids) = stored {
        return match op {
            "=" if is_empty(value) => ids.is_empty(),
            "!=" if is_empty(value) => !ids.is_empty(),
            "in" | "=" => ids.iter().any(|id| in_list(id, value)),
            "not in" | "!=" => !ids.iter().any(|id| in_list(id, value)),
            _ => false,
        };
    }
    match op {
        "=" if is_empty(value) => is_empty(stored),
        "!=" if is_empty(value) => !is_empty(stored),
        "=" => eq(stored, value),
        "!=" => !eq(stored, value),
        "in" => in_list(stored, value),
        "not in" => !in_list(stored, value),
        "<" | "<=" | ">" | ">=" => {
            if is_empty(stored) {
                return false;
            }
            let ord = match (stored.as_f64(), value.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => match (stored.as_str(), value.as_str()) {
                    (Some(a), Some(b)) => Some(datetime_key(a).cmp(&datetime_key(b))),
                    _ => None,
                },
            };
            let Some(ord) = ord else { return false };
            match op {
                "<" => ord.is_lt(),
                "<=" => ord.is_le(),
                ">" => ord.is_gt(),
                _ => ord.is_ge(),
            }
        }
        "like" | "ilike" | "not like" | "not ilike" | "=like" | "=ilike" => {
            let text = match stored {
                Value::String(s) => s.clone(),
                Value::Bool(false) | Value::Null => return op.starts_with("not"),
                other => other.to_string(),
            };
            let needle = value.as_str().unwrap_or_default();
            let ci = op.contains("ilike");
            let hit = if op.starts_with('=') {
                like(needle, &text, ci)
            } else {
                like(&format!("%{needle}%"), &text, ci)
            };
            if op.starts_with("not") {
                !hit
            } else {
                hit
            }
        }
        _ => false,
    }
}

/// Odoo compares datetimes at whole-second precision: a value with microseconds or a date
/// compares by its first 19 characters.
fn datetime_key(s: &str) -> String {
    s.chars().take(19).collect()
}

fn eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn in_list(stored: &Value, list: &Value) -> bool {
    match list {
        Value::Array(items) => items.iter().any(|v| eq(stored, v)),
        single => eq(stored, single),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefix_operators_nest() {
        let d = parse(
            &json!(["|", ["a", "=", 1], "!", ["b", "=", 2], ["c", "=", 3]]),
            "m",
            &|_| true,
        )
        .unwrap();
        let leaf = |f: &str, v: i64| {
            Box::new(Domain::Leaf {
                field: f.into(),
                op: "=".into(),
                value: json!(v),
            })
        };
        assert_eq!(
            d,
            Domain::And(
                Box::new(Domain::Or(
                    leaf("a", 1),
                    Box::new(Domain::Not(leaf("b", 2)))
                )),
                leaf("c", 3)
            )
        );
    }

    #[test]
    fn bad_domains_are_refused_like_odoo() {
        let e = parse(
            &json!([["state", "is", "draft"]]),
            "purchase.order",
            &|_| true,
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid operator in condition ('state', 'is', 'draft')"
        );
        let e = parse(
            &json!([["no_such_field", "=", 1]]),
            "purchase.order",
            &|f| f != "no_such_field",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid field purchase.order.no_such_field in condition ('no_such_field', '=', 1)"
        );
        let e = parse(&json!(["draft"]), "purchase.order", &|_| true).unwrap_err();
        assert_eq!(e.message, "Domain() invalid item in domain: 'draft'");
    }

    #[test]
    fn comparisons_follow_odoo() {
        assert!(compare(&json!(false), "=", &json!(false)));
        assert!(compare(&json!(7), "in", &json!([1, 7])));
        assert!(compare(&json!([3, 4]), "in", &json!([4])));
        assert!(compare(
            &json!("2026-11-26 16:00:24"),
            ">=",
            &json!("2026-11-26 16:00:24.5")
        ));
        assert!(!compare(
            &json!("2026-11-26 16:00:24"),
            ">",
            &json!("2026-11-26 16:00:24")
        ));
        assert!(compare(&json!("P00013"), "ilike", &json!("p0001")));
        assert!(compare(&json!("P00013"), "=like", &json!("P%3")));
        assert!(!compare(&json!("P00013"), "=like", &json!("P%4")));
        assert!(compare(&json!(false), "not ilike", &json!("x")));
        assert!(compare(&json!(10.0), "<", &json!(11)));
    }
}
