//! `gridmatch.PriceRule`: a frozen handle on the core's price rule.

use gridmatch_core::PriceRule as CoreRule;
use pyo3::prelude::*;

use crate::error::{invalid_parameter, Error};

/// How the clearing price is chosen: `PriceRule.MIDPOINT`, `MARGINAL_ASK`, `MARGINAL_BID`,
/// `EXCHANGE`, or `PriceRule.k(a, b)` for any k = a/b in [0, 1].
#[pyclass(frozen, eq, hash, module = "gridmatch", name = "PriceRule")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PriceRule(pub CoreRule);

#[pymethods]
impl PriceRule {
    #[classattr]
    const MIDPOINT: PriceRule = PriceRule(CoreRule::MIDPOINT);
    #[classattr]
    const MARGINAL_ASK: PriceRule = PriceRule(CoreRule::MARGINAL_ASK);
    #[classattr]
    const MARGINAL_BID: PriceRule = PriceRule(CoreRule::MARGINAL_BID);
    #[classattr]
    const EXCHANGE: PriceRule = PriceRule(CoreRule::Exchange);

    /// The k-rule with k = a/b: price = lo + floor(k (hi - lo)) over the best-price interval.
    #[staticmethod]
    fn k(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<Self> {
        let refuse = || invalid_parameter("k", format!("{a}/{b}"), "k = a/b needs integers with b > 0 and 0 <= a/b <= 1");
        let part = |x: &Bound<'_, PyAny>| -> PyResult<u64> {
            if x.is_instance_of::<pyo3::types::PyBool>() {
                return Err(refuse());
            }
            x.extract::<u64>().map_err(|_| refuse())
        };
        Ok(PriceRule(CoreRule::k(part(a)?, part(b)?).map_err(Error)?))
    }

    /// The rule called `name`: "midpoint", "marginal_ask", "marginal_bid" or "exchange".
    #[staticmethod]
    fn named(name: &str) -> PyResult<Self> {
        Ok(PriceRule(CoreRule::from_name(name).map_err(Error)?))
    }

    /// The rule's name, or None for an unnamed k-rule.
    #[getter]
    fn name(&self) -> Option<&'static str> {
        self.0.name()
    }

    /// (a, b) with k = a/b in lowest terms, or None for the exchange rule.
    #[getter]
    fn fraction(&self) -> Option<(u64, u64)> {
        match self.0 {
            CoreRule::K { num, den } => Some((num, den)),
            CoreRule::Exchange => None,
        }
    }

    fn __repr__(&self) -> String {
        match (self.0.name(), self.0) {
            (Some(name), _) => format!("PriceRule.{}", name.to_uppercase()),
            (None, CoreRule::K { num, den }) => format!("PriceRule.k({num}, {den})"),
            (None, CoreRule::Exchange) => unreachable!("the exchange rule is named"),
        }
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

/// A rule argument: a `PriceRule` or one of the rule names.
pub fn extract_rule(rule: &Bound<'_, PyAny>) -> PyResult<CoreRule> {
    if let Ok(rule) = rule.cast::<PriceRule>() {
        return Ok(rule.get().0);
    }
    match rule.extract::<String>() {
        Ok(name) => Ok(CoreRule::from_name(&name).map_err(Error)?),
        Err(_) => Err(invalid_parameter("rule", rule.repr()?.to_string(), "expected a rule name or a PriceRule")),
    }
}
