//! Who is calling and what they may do: identities and access keys, STS sessions, the timestamp window,
//! replay protection, RAM authorisation and flow control. The gateway runs these as stages; each is a
//! function of what it is given (no request or server state reaches in here).

pub mod authorize;
pub mod identity;
pub mod key;
pub mod nonce;
pub mod sts;
pub mod throttle;
pub mod window;
