//! The traced syscall layer under faults: errnos injected into socklab's
//! calls (`faults`) and into the C twins' (`inject`).

mod faults;
mod inject;
