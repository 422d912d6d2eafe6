//! What strace prints of a call's arguments when the call starts: the
//! text of its `<unfinished ...>` line when another task's line comes
//! before its return (strace 6.1's decoders, measured with `strace -f`
//! on a program that makes each call while another thread prints).

/// A row's entry form (`strace::entry_len` cuts the rendered arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The arguments up to the first one the kernel fills in (Out or
    /// InOut), the `, ` before it included (`recvfrom(3,  <unfinished
    /// ...>`); all of them if it fills in none (`connect(3, {...}, 16
    /// <unfinished ...>`).
    Inputs,
    /// The same, the `, ` printed at the return with the rest (clone:
    /// `clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>`, then
    /// `<... clone resumed>, child_tidptr=0x...) = N`).
    CommaAtReturn,
    /// All of them when one of these arguments (from 0) is NULL: strace
    /// then decodes the call at its entry (`accept(3, NULL, NULL
    /// <unfinished ...>`, `<... accept resumed>) = 5`); else as
    /// [`Entry::Inputs`].
    WholeIfNull(&'static [usize]),
    /// Up to this text, the rest printed at the return as it is (clone3's
    /// ` => {parent_tid=`: `clone3({flags=..., tls=0x...} <unfinished
    /// ...>`, `<... clone3 resumed> => {parent_tid=[N]}, 88) = N`).
    Before(&'static str),
    /// By the request: FIONBIO's value at the entry; FIONREAD's and
    /// TIOCOUTQ's as [`Entry::CommaAtReturn`]; a structure's first field
    /// at the entry (`ioctl(3, SIOCGIFINDEX, {ifr_name="lo"
    /// <unfinished ...>`, `<... ioctl resumed>, ifr_ifindex=1}) = 0`).
    Ioctl,
}
