//! The one error type of the core. Every variant names what was wrong and the value.

use alloc::string::String;

use crate::types::Side;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// An order field holds a value the engine refuses.
    #[error("order {id}: {field} = {value}: {reason}")]
    InvalidOrder { id: u64, field: &'static str, value: i128, reason: &'static str },

    #[error("order {id}: id appears more than once")]
    DuplicateOrderId { id: u64 },

    /// A sum or product left its integer type.
    #[error("{what} overflows {ty}")]
    Overflow { what: &'static str, ty: &'static str },

    /// A total of order quantities on one side does not fit in `u64`.
    #[error("total {} quantity overflows u64", side.name())]
    QuantityOverflow { side: Side },

    /// The best-price interval is unbounded on a side and no cap closes it.
    #[error(
        "clearing price is indeterminate: the best prices are unbounded {}; pass {}",
        if *below { "below" } else { "above" },
        if *below { "min_price" } else { "max_price" }
    )]
    IndeterminatePrice { below: bool },

    #[error("the exchange rule needs reference_price here: {why}")]
    MissingReferencePrice { why: &'static str },

    /// A clearing parameter (rule, k, allocation, caps) is out of its domain.
    #[error("{name} = {value}: {reason}")]
    InvalidParameter { name: &'static str, value: String, reason: &'static str },
}
