//! BPF programs, links and maps by ID: what another tracer on the node loaded, as descriptors
//! of our own. aya 0.14 offers no links by ID, program information only by iterating every
//! program on the node, and a map's name only after probing the kernel's features (a dozen
//! program and map loads in a fresh process, at every container start); these are the few
//! `bpf(2)` commands needed.

use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
};

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_MAP_GET_FD_BY_ID: libc::c_long = 14;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_LINK_GET_FD_BY_ID: libc::c_long = 30;

/// The attribute of the `*_GET_FD_BY_ID` commands.
#[repr(C)]
#[derive(Default)]
struct GetFdById {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

/// The attribute of `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
struct GetInfo {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The head of `struct bpf_prog_info`, as far as the name; the kernel fills what fits.
#[repr(C)]
#[derive(Default)]
struct ProgInfoHead {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

/// The head of `struct bpf_map_info`, as far as the name.
#[repr(C)]
#[derive(Default)]
struct MapInfoHead {
    map_type: u32,
    id: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: [u8; 16],
}

/// The head of `struct bpf_link_info`.
#[repr(C)]
#[derive(Default)]
struct LinkInfoHead {
    link_type: u32,
    id: u32,
    prog_id: u32,
    _pad: u32,
}

/// What the kernel says of a loaded program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    pub id: u32,
    /// The kernel's hash of the instructions (`bpf_prog_info.tag`), as a number.
    pub tag: u64,
    /// At most 15 bytes: the kernel's limit.
    pub name: String,
    pub map_ids: Vec<u32>,
}

/// What the kernel says of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkInfo {
    pub id: u32,
    pub prog_id: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live `repr(C)` attribute of the size passed, laid out as `cmd` wants.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

fn fd_by_id(cmd: libc::c_long, id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdById {
        id,
        ..Default::default()
    };
    let fd = bpf(cmd, &mut attr)?;
    // SAFETY: a fresh descriptor the kernel just returned, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A descriptor of link `id` (holding it keeps the link, and so its program, attached).
pub fn link_by_id(id: u32) -> io::Result<OwnedFd> {
    fd_by_id(BPF_LINK_GET_FD_BY_ID, id)
}

/// A descriptor of map `id`.
pub fn map_by_id(id: u32) -> io::Result<OwnedFd> {
    fd_by_id(BPF_MAP_GET_FD_BY_ID, id)
}

/// A descriptor of program `id`.
pub fn prog_by_id(id: u32) -> io::Result<OwnedFd> {
    fd_by_id(BPF_PROG_GET_FD_BY_ID, id)
}

fn info<T>(fd: BorrowedFd<'_>, info: &mut T) -> io::Result<()> {
    let mut attr = GetInfo {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<T>() as u32,
        info: info as *mut T as u64,
    };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).map(drop)
}

pub fn link_info(fd: impl AsFd) -> io::Result<LinkInfo> {
    let mut head = LinkInfoHead::default();
    info(fd.as_fd(), &mut head)?;
    Ok(LinkInfo {
        id: head.id,
        prog_id: head.prog_id,
    })
}

/// The map's name (at most 15 bytes: the kernel's limit).
pub fn map_name(fd: impl AsFd) -> io::Result<String> {
    let mut head = MapInfoHead::default();
    info(fd.as_fd(), &mut head)?;
    Ok(name_of(&head.name))
}

fn name_of(bytes: &[u8; 16]) -> String {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..len]).into_owned()
}

pub fn prog_info(fd: impl AsFd) -> io::Result<ProgInfo> {
    let mut ids = [0u32; 32];
    let mut head = ProgInfoHead {
        nr_map_ids: ids.len() as u32,
        map_ids: ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    info(fd.as_fd(), &mut head)?;
    let count = (head.nr_map_ids as usize).min(ids.len());
    Ok(ProgInfo {
        id: head.id,
        tag: u64::from_be_bytes(head.tag),
        name: name_of(&head.name),
        map_ids: ids[..count].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_have_the_kernels_sizes() {
        assert_eq!(std::mem::size_of::<GetFdById>(), 12);
        assert_eq!(std::mem::size_of::<GetInfo>(), 16);
        assert_eq!(std::mem::offset_of!(ProgInfoHead, map_ids), 56);
        assert_eq!(std::mem::offset_of!(ProgInfoHead, name), 64);
        assert_eq!(std::mem::size_of::<LinkInfoHead>(), 16);
        assert_eq!(std::mem::offset_of!(MapInfoHead, name), 24);
    }

    #[test]
    fn an_id_that_names_nothing_is_an_error() {
        // ID 0 is never handed out.
        assert!(link_by_id(0).is_err());
        assert!(prog_by_id(0).is_err());
        assert!(map_by_id(0).is_err());
    }
}
