//! io_uring's three syscalls and the mmap of its rings (`--model uring`),
//! each a traced row as strace prints it. The kernel's structures are
//! defined here (the libc crate has the syscall numbers but not the
//! structs): field for field those of linux/io_uring.h, checked by size.
//! The rings themselves (reading and writing the shared memory) are in
//! `uring_ring.rs`.

use super::*;
use std::mem::size_of;

/// `struct io_sqring_offsets`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SqOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub flags: u32,
    pub dropped: u32,
    pub array: u32,
    pub resv1: u32,
    pub user_addr: u64,
}

/// `struct io_cqring_offsets`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct CqOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub overflow: u32,
    pub cqes: u32,
    pub flags: u32,
    pub resv1: u32,
    pub user_addr: u64,
}

/// `struct io_uring_params` (120 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Params {
    pub sq_entries: u32,
    pub cq_entries: u32,
    pub flags: u32,
    pub sq_thread_cpu: u32,
    pub sq_thread_idle: u32,
    pub features: u32,
    pub wq_fd: u32,
    pub resv: [u32; 3],
    pub sq_off: SqOffsets,
    pub cq_off: CqOffsets,
}

/// `struct io_uring_sqe` (64 bytes), with the union members socklab uses:
/// `off` (addr2), `op_flags` (msg_flags, accept_flags, cancel_flags),
/// `buf_group` (buf_index).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Sqe {
    pub opcode: u8,
    pub flags: u8,
    pub ioprio: u16,
    pub fd: i32,
    pub off: u64,
    pub addr: u64,
    pub len: u32,
    pub op_flags: u32,
    pub user_data: u64,
    pub buf_group: u16,
    pub personality: u16,
    pub file_index: i32,
    pub addr3: u64,
    pub pad: u64,
}

/// `struct io_uring_cqe` (16 bytes, without IORING_SETUP_CQE32).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Cqe {
    pub user_data: u64,
    pub res: i32,
    pub flags: u32,
}

/// `struct io_uring_buf_reg` (40 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct BufReg {
    ring_addr: u64,
    ring_entries: u32,
    bgid: u16,
    flags: u16,
    resv: [u64; 3],
}

const _: () = assert!(size_of::<Params>() == 120);
const _: () = assert!(size_of::<Sqe>() == 64);
const _: () = assert!(size_of::<Cqe>() == 16);
const _: () = assert!(size_of::<BufReg>() == 40);

pub const IORING_OFF_SQ_RING: i64 = 0;
pub const IORING_OFF_SQES: i64 = 0x1000_0000;
pub const IORING_FEAT_SINGLE_MMAP: u32 = 1;
pub const IORING_ENTER_GETEVENTS: u32 = 1;
const IORING_REGISTER_PBUF_RING: u32 = 22;

/// The IORING_FEAT_* names strace 6.1 knows, in bit order; higher bits
/// print as a hex remainder (`|0x3e000`), as strace does.
const FEATURES: &[&str] = &[
    "IORING_FEAT_SINGLE_MMAP",
    "IORING_FEAT_NODROP",
    "IORING_FEAT_SUBMIT_STABLE",
    "IORING_FEAT_RW_CUR_POS",
    "IORING_FEAT_CUR_PERSONALITY",
    "IORING_FEAT_FAST_POLL",
    "IORING_FEAT_POLL_32BITS",
    "IORING_FEAT_SQPOLL_NONFIXED",
    "IORING_FEAT_EXT_ARG",
    "IORING_FEAT_NATIVE_WORKERS",
    "IORING_FEAT_RSRC_TAGS",
    "IORING_FEAT_CQE_SKIP",
    "IORING_FEAT_LINKED_FILE",
];

fn features(bits: u32) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = bits;
    for (i, name) in FEATURES.iter().enumerate() {
        if bits & (1 << i) != 0 {
            parts.push((*name).to_string());
            rest &= !(1 << i);
        }
    }
    if rest != 0 || parts.is_empty() {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// io_uring_setup's params as strace prints them: on entry only the
/// first three fields, on success all that the kernel filled in.
fn params_text(p: &Params, done: bool) -> String {
    let head = format!(
        "flags={}, sq_thread_cpu={}, sq_thread_idle={}",
        p.flags, p.sq_thread_cpu, p.sq_thread_idle
    );
    if !done {
        return format!("{{{head}}}");
    }
    let (s, c) = (&p.sq_off, &p.cq_off);
    format!(
        "{{{head}, sq_entries={}, cq_entries={}, features={}, sq_off={{head={}, tail={}, ring_mask={}, ring_entries={}, flags={}, dropped={}, array={}}}, cq_off={{head={}, tail={}, ring_mask={}, ring_entries={}, overflow={}, cqes={}, flags={}}}}}",
        p.sq_entries,
        p.cq_entries,
        features(p.features),
        s.head,
        s.tail,
        s.ring_mask,
        s.ring_entries,
        s.flags,
        s.dropped,
        s.array,
        c.head,
        c.tail,
        c.ring_mask,
        c.ring_entries,
        c.overflow,
        c.cqes,
        c.flags
    )
}

impl Sys {
    /// io_uring_setup(entries, {flags=0, ...}): the ring's fd and the
    /// offsets the kernel filled in.
    pub fn io_uring_setup(&self, entries: u32) -> Result<(Socket, Params)> {
        let p = Cell::new(Params::default());
        let fd = self.call(
            Call {
                row: &calls::IO_URING_SETUP,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: p is a live io_uring_params the kernel reads and fills.
                let r = unsafe { libc::syscall(libc::SYS_io_uring_setup, entries, p.as_ptr()) };
                Errno::result(r)
            },
            |ret| {
                let shown = params_text(&p.get(), ret.is_ok());
                plain(row_args(
                    &calls::IO_URING_SETUP,
                    &[ArgVal::Int(i64::from(entries)), ArgVal::Text(shown)],
                ))
            },
        )?;
        Ok((Socket(fd as RawFd), p.get()))
    }

    /// mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, fd,
    /// offset) of a ring; with `fd` None, MAP_PRIVATE|MAP_ANONYMOUS memory
    /// (the provided buffers). The mapping stays until the process ends.
    pub fn mmap(&self, len: usize, fd: Option<Socket>, offset: i64) -> Result<*mut u8> {
        let (flags, flag_names, raw_fd) = match fd {
            Some(s) => (
                libc::MAP_SHARED | libc::MAP_POPULATE,
                "MAP_SHARED|MAP_POPULATE",
                s.0,
            ),
            None => (
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                "MAP_PRIVATE|MAP_ANONYMOUS",
                -1,
            ),
        };
        let addr = self.call(
            Call {
                row: &calls::MMAP,
                fd: None,
                unix: false,
            },
            || {
                let prot = libc::PROT_READ | libc::PROT_WRITE;
                // SAFETY: a new mapping chosen by the kernel (addr NULL):
                // no existing memory is touched.
                let p =
                    unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, raw_fd, offset) };
                if p == libc::MAP_FAILED {
                    Err(Errno::last())
                } else {
                    Ok(p as i64)
                }
            },
            |_| {
                let off = if offset == 0 {
                    "0".to_string()
                } else {
                    format!("{offset:#x}")
                };
                plain(row_args(
                    &calls::MMAP,
                    &[
                        ArgVal::Null,
                        ArgVal::Int(len as i64),
                        ArgVal::Name("PROT_READ|PROT_WRITE"),
                        ArgVal::Name(flag_names),
                        ArgVal::Fd(raw_fd),
                        ArgVal::Text(off),
                    ],
                ))
            },
        )?;
        Ok(addr as *mut u8)
    }

    /// io_uring_register(fd, IORING_REGISTER_PBUF_RING, {ring_addr,
    /// ring_entries, bgid}, 1): the provided-buffer ring at `ring`.
    pub fn io_uring_register_pbuf_ring(
        &self,
        ring_fd: Socket,
        ring: *mut u8,
        entries: u32,
        bgid: u16,
    ) -> Result<()> {
        let reg = BufReg {
            ring_addr: ring as u64,
            ring_entries: entries,
            bgid,
            ..BufReg::default()
        };
        self.call(
            Call {
                row: &calls::IO_URING_REGISTER,
                fd: None,
                unix: false,
            },
            || {
                let arg: *const BufReg = &reg;
                // SAFETY: arg points to a live io_uring_buf_reg; the ring
                // memory it names stays mapped for the process's life.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_io_uring_register,
                        ring_fd.0,
                        IORING_REGISTER_PBUF_RING,
                        arg,
                        1,
                    )
                };
                Errno::result(r)
            },
            |_| {
                let shown = format!(
                    "{{ring_addr={:#x}, ring_entries={entries}, bgid={bgid}}}",
                    ring as u64
                );
                plain(row_args(
                    &calls::IO_URING_REGISTER,
                    &[
                        ArgVal::Fd(ring_fd.0),
                        ArgVal::Name("IORING_REGISTER_PBUF_RING"),
                        ArgVal::Text(shown),
                        ArgVal::Int(1),
                    ],
                ))
            },
        )?;
        Ok(())
    }

    /// io_uring_enter(fd, to_submit, min_complete, flags, NULL, 0): submit
    /// and (with IORING_ENTER_GETEVENTS) wait for `min_complete`
    /// completions. Returns how many SQEs the kernel took.
    pub fn io_uring_enter(
        &self,
        ring_fd: Socket,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
    ) -> Result<u32> {
        let n = self.call(
            Call {
                row: &calls::IO_URING_ENTER,
                fd: None,
                unix: false,
            },
            || {
                let null: *const libc::c_void = std::ptr::null();
                // SAFETY: no sigset (NULL, 0); the rings are mapped.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_io_uring_enter,
                        ring_fd.0,
                        to_submit,
                        min_complete,
                        flags,
                        null,
                        0usize,
                    )
                };
                Errno::result(r)
            },
            |_| {
                let f = if flags & IORING_ENTER_GETEVENTS != 0 {
                    "IORING_ENTER_GETEVENTS"
                } else {
                    "0"
                };
                plain(row_args(
                    &calls::IO_URING_ENTER,
                    &[
                        ArgVal::Fd(ring_fd.0),
                        ArgVal::Int(i64::from(to_submit)),
                        ArgVal::Int(i64::from(min_complete)),
                        ArgVal::Name(f),
                        ArgVal::Null,
                        ArgVal::Int(0),
                    ],
                ))
            },
        )?;
        Ok(n as u32)
    }

    /// A line under the last traced call (`  sqe ...`, `  cqe ...`): what
    /// went through the rings. Nothing when not tracing.
    pub fn ring_note(&self, text: &str) {
        self.tracer.note(text);
    }

    /// Whether the ring lines are wanted (tracing on): callers build them only then.
    pub fn ring_traced(&self) -> bool {
        self.tracer.enabled()
    }
}
