//! The deployer: the one key that may sign the first `initialize` of governance and of the
//! registry, so that whoever calls first does not become their authority (a front-run).
//!
//! It is fixed at build time, not read from the program's upgrade authority: LiteSVM's
//! `add_program` and an immutable deployment have no `ProgramData` account to read one from.
//! `GRIDMATCH_DEPLOYER` (a base58 public key) in the build's environment names it; without it,
//! the development deployer, whose seed is public (`gridmatch.chain.programs.deployer()`): a
//! deployment builds with its own key. rustc records the variable in the build's dependency
//! info, so cargo rebuilds when it changes.

use crate::accounts;
use pinocchio::{error::ProgramError, AccountView, Address, ProgramResult};

/// The development deployer: the ed25519 public key of the 32-byte seed
/// `sha256("gridmatch development deployer")` (tests/test_program_governance.py checks it).
pub const DEVELOPMENT: &str = "FLgj1vGDQy9p5cwxDXo2Wb5baTAKpG7AFg1eUexdFLbV";

/// The deployer this build accepts (a malformed `GRIDMATCH_DEPLOYER` fails the build).
pub const ID: Address = Address::from_str_const(match option_env!("GRIDMATCH_DEPLOYER") {
    Some(key) => key,
    None => DEVELOPMENT,
});

/// `deployer` signed (3010) and is [`ID`], else `not_deployer` (the program's own error).
#[inline(always)]
pub fn require(deployer: &AccountView, not_deployer: ProgramError) -> ProgramResult {
    accounts::signer(deployer)?;
    if deployer.address() == &ID {
        Ok(())
    } else {
        Err(not_deployer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_build_environment_s_key_or_the_development_one() {
        let expected = option_env!("GRIDMATCH_DEPLOYER").unwrap_or(DEVELOPMENT);
        assert_eq!(ID, expected.parse::<Address>().unwrap());
        assert_ne!(ID, Address::new_from_array([0; 32]));
    }
}
