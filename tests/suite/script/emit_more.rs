//! Issue 17, round 22: lines the script runs that `--emit` once refused
//! ("not written yet"), each now written in both languages as the same
//! call: several fds in one SCM_RIGHTS message, several control messages
//! in one sendmsg (in the line's order: SCM_CREDENTIALS before
//! SCM_RIGHTS, two SCM_RIGHTS, two SCM_CREDENTIALS). Each script runs,
//! and its C twin (with the round trip) and Python twin make its calls.

use super::emit::{c_twin, python_twin};
use crate::harness::{TempDir, run, socklab};

/// Two fds in one SCM_RIGHTS message, sent and received (no msg_name:
/// ops.rs's sendmsg and recvmsg).
const RIGHTS: &str = r#"a | p = socketpair(AF_UNIX, SOCK_STREAM, 0, ...) = 0
a | x = socket(AF_INET, SOCK_STREAM, 0)
a | y = socket(AF_INET, SOCK_DGRAM, 0)
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hi", iov_len=2}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x, y]}], msg_controllen=24, msg_flags=0}, 0) = 2
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hi", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7, 8]}], msg_controllen=64 => 24, msg_flags=0}, 0) = 2
a | close(7) = 0
a | close(8) = 0
"#;

/// Several control messages a line: credentials then two fds (received
/// with the credentials SO_PASSCRED adds), two SCM_RIGHTS messages (the
/// kernel joins them: one received), two SCM_CREDENTIALS (the last one
/// counts), on a datagram pair; and an autobound name with two fds.
const SEVERAL: &str = r#"a | p = socketpair(AF_UNIX, SOCK_DGRAM, 0, ...) = 0
a | setsockopt(p[1], SOL_SOCKET, SO_PASSCRED, [1], 4) = 0
a | x = socket(AF_INET, SOCK_STREAM, 0)
a | y = socket(AF_INET, SOCK_DGRAM, 0)
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="one", iov_len=3}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x, y]}], msg_controllen=56, msg_flags=0}, 0) = 3
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="one", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7, 8]}], msg_controllen=128 => 56, msg_flags=0}, 0) = 3
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="two", iov_len=3}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x]}, {cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[y]}], msg_controllen=48, msg_flags=0}, 0) = 3
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="two", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[9, 10]}], msg_controllen=128 => 56, msg_flags=0}, 0) = 3
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="three", iov_len=5}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}], msg_controllen=64, msg_flags=0}, 0) = 5
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="three", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}], msg_controllen=128 => 32, msg_flags=0}, 0) = 5
a | u = socket(AF_UNIX, SOCK_DGRAM, 0)
a | bind(u, {sa_family=AF_UNIX}, 2) = 0
a | getsockname(u, {sa_family=AF_UNIX, sun_path=@"00001"}, [110 => 8]) = 0
a | v = socket(AF_UNIX, SOCK_DGRAM, 0)
a | bind(v, {sa_family=AF_UNIX}, 2) = 0
a | getsockname(v, {sa_family=AF_UNIX, sun_path=@"00002"}, [110 => 8]) = 0
a | sendmsg(v, {msg_name={sa_family=AF_UNIX, sun_path=@"00001"}, msg_namelen=8, msg_iov=[{iov_base="four", iov_len=4}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x, y]}], msg_controllen=24, msg_flags=0}, 0) = 4
a | recvmsg(u, {msg_name={sa_family=AF_UNIX, sun_path=@"00002"}, msg_namelen=128 => 8, msg_iov=[{iov_base="four", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[21, 22]}], msg_controllen=64 => 24, msg_flags=0}, 0) = 4
a | close(7) = 0
a | close(8) = 0
a | close(9) = 0
a | close(10) = 0
a | close(21) = 0
a | close(22) = 0
"#;

fn twins(text: &str, name: &str) {
    let dir = TempDir::new("emit-more");
    let file = dir.path(&format!("{name}.script"));
    std::fs::write(&file, text).unwrap();
    run(socklab(&["script", &file]), b"").assert_ok();
    c_twin(&file, name);
    python_twin(&file, name);
}

#[test]
fn emit_twins_send_several_fds_in_one_scm_rights_message() {
    twins(RIGHTS, "rights-two-fds");
}

#[test]
fn emit_twins_send_several_control_messages_in_their_order() {
    twins(SEVERAL, "several-cmsgs");
}
