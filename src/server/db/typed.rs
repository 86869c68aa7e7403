//! Typed columns: values that parse on the way in, so a row read into a struct
//! (`#[derive(sqlx::FromRow)]`) holds a quantity, a time or a state, never a string to be
//! parsed later, and a stored value that does not parse fails the read
//! ([`super::BadStoredValue`]) instead of becoming a zero or a default.
//!
//! Both databases store these as text (module `db`): a decimal's canonical string, a UTC
//! time as `YYYY-MM-DD HH:MM:SS`, a state as its code. Each type decodes from that text
//! through sqlx's `Any` driver, and binds back as the same text. A flag ([`Flag`]) is the
//! exception: `BOOLEAN` on PostgreSQL, `INTEGER` 0/1 on SQLite, bound as a Rust `bool`.

use std::fmt;

use rust_decimal::Decimal;
use sqlx::any::{AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, Decode, Type, ValueRef};

use super::BadStoredValue;
use crate::domain::order::{LineAnswerState, OrderStatus};

fn text<'r>(value: AnyValueRef<'r>) -> Result<String, BoxDynError> {
    <String as Decode<'r, Any>>::decode(value)
}

fn bad(what: &'static str, value: String) -> BoxDynError {
    Box::new(BadStoredValue { what, value })
}

macro_rules! stored_as_text {
    ($t:ty) => {
        impl Type<Any> for $t {
            fn type_info() -> AnyTypeInfo {
                <String as Type<Any>>::type_info()
            }
            fn compatible(ty: &AnyTypeInfo) -> bool {
                <String as Type<Any>>::compatible(ty)
            }
        }
    };
}

/// A stored quantity (ordered, received, announced, proposed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(pub Decimal);

impl Quantity {
    pub fn get(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

stored_as_text!(Quantity);

impl<'r> Decode<'r, Any> for Quantity {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = text(value)?;
        match s.trim().parse() {
            Ok(d) => Ok(Quantity(d)),
            Err(_) => Err(bad("quantity", s)),
        }
    }
}

/// A stored UTC time (`YYYY-MM-DD HH:MM:SS`; fractions ignored, a bare date is its midnight,
/// as [`super::utc_time`] reads it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(pub chrono::NaiveDateTime);

impl UtcTime {
    pub fn get(self) -> chrono::NaiveDateTime {
        self.0
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(super::TIME_FORMAT))
    }
}

stored_as_text!(UtcTime);

impl<'r> Decode<'r, Any> for UtcTime {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = text(value)?;
        match super::utc_time(&s) {
            Ok(t) => Ok(UtcTime(t)),
            Err(_) => Err(bad("time", s)),
        }
    }
}

/// A state stored as its code: an unknown code fails the read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code<T>(pub T);

/// States stored as their code.
pub trait Coded: Sized {
    const WHAT: &'static str;
    fn from_code(code: &str) -> Option<Self>;
}

impl Coded for OrderStatus {
    const WHAT: &'static str = "order status";
    fn from_code(code: &str) -> Option<Self> {
        OrderStatus::from_code(code)
    }
}

impl Coded for LineAnswerState {
    const WHAT: &'static str = "line answer";
    fn from_code(code: &str) -> Option<Self> {
        LineAnswerState::from_code(code)
    }
}

impl<T> Type<Any> for Code<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r, T: Coded> Decode<'r, Any> for Code<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = text(value)?;
        match T::from_code(s.trim()) {
            Some(v) => Ok(Code(v)),
            None => Err(bad(T::WHAT, s)),
        }
    }
}

/// A stored flag (`active`, `visible`, `removed_in_odoo`, ...): `BOOLEAN` on PostgreSQL,
/// `INTEGER` on SQLite, where 0 is false, 1 is true and any other value fails the read.
/// Read it into a `bool` field with `#[sqlx(try_from = "Flag")]`; bind a plain `bool`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

impl Flag {
    /// A flag stored as an integer: 0 or 1, anything else is a bad stored value.
    pub fn from_stored(stored: i64) -> Result<Self, BoxDynError> {
        match stored {
            0 => Ok(Flag(false)),
            1 => Ok(Flag(true)),
            other => Err(bad("flag", other.to_string())),
        }
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        matches!(
            ty.kind(),
            AnyTypeInfoKind::Bool
                | AnyTypeInfoKind::SmallInt
                | AnyTypeInfoKind::Integer
                | AnyTypeInfoKind::BigInt
        )
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match value.type_info().kind() {
            AnyTypeInfoKind::Bool => Ok(Flag(<bool as Decode<'r, Any>>::decode(value)?)),
            AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
                Flag::from_stored(<i64 as Decode<'r, Any>>::decode(value)?)
            }
            _ => match <String as Decode<'r, Any>>::decode(value) {
                Ok(s) => Err(bad("flag", s)),
                Err(e) => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_stored_as_an_integer_is_0_or_1_and_nothing_else() {
        assert_eq!(Flag::from_stored(0).unwrap(), Flag(false));
        assert_eq!(Flag::from_stored(1).unwrap(), Flag(true));
        for other in [2, -1, 42] {
            let err = Flag::from_stored(other).unwrap_err();
            let bad = err
                .downcast_ref::<BadStoredValue>()
                .expect("a bad stored value");
            assert_eq!(
                (bad.what, bad.value.as_str()),
                ("flag", other.to_string().as_str())
            );
        }
    }
}
