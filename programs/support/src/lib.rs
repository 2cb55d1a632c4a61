//! What every gridmatch program shares.
//!
//! - [`anchor`]: Anchor's wire format by hand (discriminators, framework error numbers), so that
//!   `anchorpy` drives these programs from a legacy (Anchor 0.29) IDL.
//! - [`borsh`]: reading instruction arguments and writing account fields at fixed offsets.
//! - [`accounts`]: the account checks Anchor's `#[derive(Accounts)]` would make, with Anchor's
//!   error numbers, and creation of program-derived accounts by CPI into the System program.
//! - [`deployer`]: the key fixed at build time that alone may sign the first `initialize` of
//!   governance and of the registry.
//! - [`governance`]: the governance config's layout and checks (the shared contract), for the
//!   programs that honour its pause or take its authorities.
//! - [`token`]: the SPL Token program's id, mint and token account layouts, and its `*Checked` CPIs.
//! - [`sys`]: syscalls that pinocchio reaches only on `target_os = "solana"`: on
//!   `bpfel-unknown-none` (`target_os = "none"`) its `Clock::get()`/`Rent::get()` return zeroes
//!   and `pinocchio-log` prints nothing, so the programs use these instead; and the
//!   `memcpy`/`memmove`/`memset`/`memcmp` symbols LLVM emits, mapped to the `sol_mem*` syscalls.
#![no_std]

pub mod accounts;
pub mod anchor;
pub mod borsh;
pub mod deployer;
pub mod governance;
pub mod math;
pub mod sys;
pub mod token;

pub use pinocchio;
