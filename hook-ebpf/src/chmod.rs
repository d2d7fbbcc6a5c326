//! The chmod family's CAP_FSETID check, whose verdict counts only for a set-group-ID mode.
//! `setattr_prepare` and `setattr_copy` (fs/attr.c) ask `in_group_or_capable()` (fs/inode.c;
//! open-coded before 6.2) whenever the caller is not in the file's group, and use the answer
//! only to clear S_ISGID from the new mode: root changing the mode of a file of another group
//! shows a granted check that a mode without S_ISGID never needed.

use hook_common::{CALL_CHMOD, CALL_FCHMOD, CALL_FCHMODAT, CALL_FCHMODAT2, S_ISGID};

use crate::syscall::Call;

/// Whether a CAP_FSETID check made in `call` is made in chmod, fchmod, fchmodat or fchmodat2
/// with a mode without S_ISGID: then its verdict changed nothing.
#[inline(always)]
pub fn fsetid_unused(call: &Call) -> bool {
    let mode = match call.which {
        CALL_CHMOD | CALL_FCHMOD => call.args[1],
        CALL_FCHMODAT | CALL_FCHMODAT2 => call.args[2],
        _ => return false,
    };
    mode & S_ISGID == 0
}
