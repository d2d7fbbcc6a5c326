//! Where a few kernel struct fields are, read from the kernel's own BTF: the capability
//! program needs them to tell a task's own credentials from borrowed ones, a check's user
//! namespace, and an executed file's name (see `contract::GLOBAL_KERNEL_OFFSETS`).
//!
//! Only these offsets are wanted, so the type section is walked for six struct names,
//! without building any type graph: aya's full BTF parse costs tens of milliseconds and
//! megabytes on the first container of the node (see BENCHMARKS.md, "attach"). Even the walk
//! (reading 5 MiB) is done once per boot: the result is kept in the node's directory.

use std::path::Path;

use crate::{
    contract,
    node::{files::open_rw, RUN_DIR},
};

const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";
const BTF_MAGIC: u16 = 0xeb9f;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;

/// The fields, as (struct, member) names, in `contract::OFFSET_*` order.
const FIELDS: [(&str, &str); 10] = [
    ("task_struct", "real_cred"),
    ("cred", "user_ns"),
    ("user_namespace", "ns"),
    ("linux_binprm", "filename"),
    ("cred", "cap_effective"),
    ("task_struct", "nsproxy"),
    ("nsproxy", "mnt_ns"),
    ("mnt_namespace", "ns"),
    ("cred", "cap_inheritable"),
    ("cred", "cap_permitted"),
];
/// `user_namespace.ns` and `mnt_namespace.ns` are `struct ns_common`s; the inode number is
/// inside.
const NS_INUM: (&str, &str) = ("ns_common", "inum");

/// The `contract::GLOBAL_KERNEL_OFFSETS` array for this kernel, or why it cannot be had. The
/// running kernel's BTF cannot change until reboot, so the answer is kept in the node's
/// directory (tmpfs, root only) under the kernel's release and build, and scanned for once.
pub fn kernel_offsets() -> Result<[u64; contract::OFFSET_SLOTS], String> {
    // Beside the registries, not among them: `status` reads every entry there as one.
    let cache = Path::new(RUN_DIR).join("@kernel-offsets");
    let kernel = kernel_build();
    if let Some(offsets) = cached(&cache, &kernel) {
        return Ok(offsets);
    }
    let offsets = scan_kernel_btf()?;
    keep(&cache, &kernel, &offsets);
    Ok(offsets)
}

/// The offsets read from the kernel's BTF itself.
pub fn scan_kernel_btf() -> Result<[u64; contract::OFFSET_SLOTS], String> {
    let bytes = std::fs::read(KERNEL_BTF)
        .map_err(|e| format!("the kernel has no readable BTF at {KERNEL_BTF} ({e})"))?;
    offsets_in(&bytes)
}

/// What names this kernel build: its release and version strings.
fn kernel_build() -> String {
    let read = |name| std::fs::read_to_string(format!("/proc/sys/kernel/{name}"));
    let (release, version) = (read("osrelease"), read("version"));
    format!(
        "{} {}",
        release.unwrap_or_default().trim(),
        version.unwrap_or_default().trim()
    )
}

/// The offsets kept for `kernel` in `cache`, when they are there and whole.
fn cached(cache: &Path, kernel: &str) -> Option<[u64; contract::OFFSET_SLOTS]> {
    let text = std::fs::read_to_string(cache).ok()?;
    let (first, numbers) = text.split_once('\n')?;
    if first != kernel {
        return None;
    }
    let numbers: Vec<u64> = numbers
        .split_whitespace()
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let offsets: [u64; contract::OFFSET_SLOTS] = numbers.try_into().ok()?;
    (offsets[contract::OFFSET_FOUND] == 1).then_some(offsets)
}

/// Keeps `offsets` for `kernel`, replacing the file at once; best effort (where the node's
/// directory does not exist yet, the next load scans again).
fn keep(cache: &Path, kernel: &str, offsets: &[u64; contract::OFFSET_SLOTS]) {
    let numbers: Vec<String> = offsets.iter().map(u64::to_string).collect();
    let temporary = cache.with_extension("new");
    let _ = std::fs::remove_file(&temporary);
    let written = open_rw(&temporary).and_then(|mut file| {
        std::io::Write::write_all(
            &mut file,
            format!("{kernel}\n{}\n", numbers.join(" ")).as_bytes(),
        )
    });
    if written
        .and_then(|()| std::fs::rename(&temporary, cache))
        .is_err()
    {
        let _ = std::fs::remove_file(&temporary);
    }
}

/// The offsets [`kernel_offsets`] reads, from BTF `bytes`.
fn offsets_in(bytes: &[u8]) -> Result<[u64; contract::OFFSET_SLOTS], String> {
    let btf = Btf::parse(bytes).ok_or("the kernel's BTF is malformed")?;
    let find = |(owner, member): (&str, &str)| {
        btf.member_offset(owner, member)
            .ok_or_else(|| format!("the kernel's BTF has no {owner}.{member}"))
    };
    let mut offsets = [0u64; contract::OFFSET_SLOTS];
    for (slot, field) in FIELDS.iter().enumerate() {
        offsets[slot] = u64::from(find(*field)?);
    }
    let inum = u64::from(find(NS_INUM)?);
    offsets[contract::OFFSET_NS_INUM] += inum;
    offsets[contract::OFFSET_MNT_NS_INUM] += inum;
    offsets[contract::OFFSET_FOUND] = 1;
    Ok(offsets)
}

/// The type and string sections of a BTF blob.
struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
}

impl<'a> Btf<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Self> {
        let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
        if u16_at(0)? != BTF_MAGIC {
            return None;
        }
        let word = |at: usize| read_u32(bytes, at);
        let header = word(4)? as usize;
        let (type_off, type_len) = (word(8)? as usize, word(12)? as usize);
        let (str_off, str_len) = (word(16)? as usize, word(20)? as usize);
        let section = |off: usize, len: usize| bytes.get(header + off..header + off + len);
        Some(Self {
            types: section(type_off, type_len)?,
            strings: section(str_off, str_len)?,
        })
    }

    fn name(&self, offset: u32) -> &'a [u8] {
        let rest = self.strings.get(offset as usize..).unwrap_or_default();
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    }

    /// The byte offset of `member` in the first complete struct named `owner`, looking into
    /// anonymous struct and union members too.
    fn member_offset(&self, owner: &str, member: &str) -> Option<u32> {
        let mut at = 0;
        while at < self.types.len() {
            let (name, info) = (read_u32(self.types, at)?, read_u32(self.types, at + 4)?);
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            if kind == KIND_STRUCT && vlen > 0 && self.name(name) == owner.as_bytes() {
                return self.find_member(at, member.as_bytes(), 0);
            }
            at += 12 + trailing_bytes(kind, vlen)?;
        }
        None
    }

    /// `member` among the members of the struct or union at `at`, `base` bits in.
    fn find_member(&self, at: usize, member: &[u8], base: u32) -> Option<u32> {
        let info = read_u32(self.types, at + 4)?;
        let bitfields = info >> 31 == 1;
        for i in 0..(info & 0xffff) as usize {
            let entry = at + 12 + i * 12;
            let name = read_u32(self.types, entry)?;
            let raw = read_u32(self.types, entry + 8)?;
            let bits = base + if bitfields { raw & 0xff_ffff } else { raw };
            if self.name(name) == member {
                return Some(bits / 8);
            }
            if name == 0 {
                let inner = self.resolve(read_u32(self.types, entry + 4)?)?;
                if let Some(found) = inner.and_then(|at| self.find_member(at, member, bits)) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// Where type `id` starts when it is a struct or union (`Some(None)` when it is another
    /// kind). IDs count from 1 in section order.
    fn resolve(&self, id: u32) -> Option<Option<usize>> {
        let (mut at, mut current) = (0, 1);
        while at < self.types.len() {
            let info = read_u32(self.types, at + 4)?;
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            if current == id {
                return Some(matches!(kind, KIND_STRUCT | KIND_UNION).then_some(at));
            }
            at += 12 + trailing_bytes(kind, vlen)?;
            current += 1;
        }
        None
    }
}

/// The bytes that follow a type's 12-byte head, by kind (`include/uapi/linux/btf.h`).
fn trailing_bytes(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        1 | 14 | 17 => 4,             // INT, VAR, DECL_TAG
        3 => 12,                      // ARRAY
        4 | 5 | 15 | 19 => 12 * vlen, // STRUCT, UNION, DATASEC, ENUM64
        6 | 13 => 8 * vlen,           // ENUM, FUNC_PROTO
        2 | 7..=12 | 16 | 18 => 0,
        _ => return None,
    })
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob: a header, then `types` and `strings` as the sections.
    fn blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
        let type_len = (types.len() * 4) as u32;
        let mut bytes = vec![0x9f, 0xeb, 1, 0];
        for word in [24, 0, type_len, type_len, strings.len() as u32] {
            bytes.extend(word.to_le_bytes());
        }
        bytes.extend(types.iter().flat_map(|w| w.to_le_bytes()));
        bytes.extend(strings);
        bytes
    }

    fn head(name: u32, kind: u32, vlen: u32, size: u32) -> [u32; 3] {
        [name, kind << 24 | vlen, size]
    }

    /// Every struct the program needs, one of them with its member inside an anonymous union,
    /// another with bitfield offsets, after types of other kinds that must be skipped whole.
    #[test]
    fn members_are_found_through_anonymous_unions_and_bitfields() {
        let strings = b"\0int\0task_struct\0real_cred\0cred\0user_ns\0user_namespace\0ns\0\
                        ns_common\0inum\0linux_binprm\0filename\0cap_effective\0nsproxy\0mnt_ns\0\
                        mnt_namespace\0cap_inheritable\0cap_permitted\0";
        let at = |name: &str| {
            let text = std::str::from_utf8(strings).unwrap();
            text.split('\0')
                .scan(0, |pos, part| {
                    let here = *pos;
                    *pos += part.len() + 1;
                    Some((here, part))
                })
                .find(|(_, p)| *p == name)
                .unwrap()
                .0 as u32
        };
        let mut types: Vec<u32> = Vec::new();
        // 1: int (4 trailing bytes), 2: an anonymous union holding real_cred at bit 64.
        types.extend(head(at("int"), 1, 0, 8));
        types.push(64);
        types.extend(head(0, KIND_UNION, 1, 8));
        types.extend([at("real_cred"), 1, 64]);
        // 3: task_struct { int a @0; union { real_cred @64 } @1024; nsproxy @2048 }
        types.extend(head(at("task_struct"), KIND_STRUCT, 3, 512));
        types.extend([at("int"), 1, 0, 0, 2, 1024, at("nsproxy"), 1, 2048]);
        // 4: cred { cap_inheritable @ 192, cap_permitted @ 256, cap_effective @ bit 320,
        // user_ns @ bit 832, as a bitfield-flagged struct }
        types.extend([at("cred"), 1 << 31 | KIND_STRUCT << 24 | 4, 200]);
        types.extend([at("cap_inheritable"), 1, 192]);
        types.extend([at("cap_permitted"), 1, 256]);
        types.extend([at("cap_effective"), 1, 320]);
        types.extend([at("user_ns"), 1, 1 << 24 | 832]);
        // 5: ns_common { inum @ 128 }, 6: user_namespace { ns @ 256 }, 7: linux_binprm.
        types.extend(head(at("ns_common"), KIND_STRUCT, 1, 24));
        types.extend([at("inum"), 1, 128]);
        types.extend(head(at("user_namespace"), KIND_STRUCT, 1, 64));
        types.extend([at("ns"), 5, 256]);
        types.extend(head(at("linux_binprm"), KIND_STRUCT, 1, 64));
        types.extend([at("filename"), 1, 384]);
        // 8: nsproxy { mnt_ns @ 64 }, 9: mnt_namespace { ns @ 512 }.
        types.extend(head(at("nsproxy"), KIND_STRUCT, 1, 64));
        types.extend([at("mnt_ns"), 1, 64]);
        types.extend(head(at("mnt_namespace"), KIND_STRUCT, 1, 128));
        types.extend([at("ns"), 5, 512]);
        let offsets = offsets_in(&blob(&types, strings)).expect("offsets");
        assert_eq!(offsets[contract::OFFSET_REAL_CRED], (1024 + 64) / 8);
        assert_eq!(offsets[contract::OFFSET_CRED_USER_NS], 832 / 8);
        assert_eq!(offsets[contract::OFFSET_NS_INUM], (256 + 128) / 8);
        assert_eq!(offsets[contract::OFFSET_BPRM_FILENAME], 384 / 8);
        assert_eq!(offsets[contract::OFFSET_CRED_CAP_EFFECTIVE], 320 / 8);
        assert_eq!(offsets[contract::OFFSET_CRED_CAP_INHERITABLE], 192 / 8);
        assert_eq!(offsets[contract::OFFSET_CRED_CAP_PERMITTED], 256 / 8);
        assert_eq!(offsets[contract::OFFSET_TASK_NSPROXY], 2048 / 8);
        assert_eq!(offsets[contract::OFFSET_NSPROXY_MNT_NS], 64 / 8);
        assert_eq!(offsets[contract::OFFSET_MNT_NS_INUM], (512 + 128) / 8);
        assert_eq!(offsets[contract::OFFSET_FOUND], 1);
    }

    #[test]
    fn a_kept_answer_is_used_only_for_its_kernel() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("kernel-offsets");
        let offsets = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1];
        keep(&cache, "6.18 #1", &offsets);
        assert_eq!(cached(&cache, "6.18 #1"), Some(offsets));
        assert_eq!(cached(&cache, "6.18 #2"), None, "another build");
        std::fs::write(&cache, "6.18 #1\n1 2 3\n").unwrap();
        assert_eq!(cached(&cache, "6.18 #1"), None, "a partial file");
    }

    #[test]
    fn this_kernels_fields_are_found() {
        let offsets = scan_kernel_btf().expect("this kernel has BTF with every field");
        assert!(offsets[contract::OFFSET_REAL_CRED] > 0);
        assert!(offsets[contract::OFFSET_NS_INUM] > 0);
    }

    #[test]
    fn garbage_is_refused_not_read() {
        assert!(offsets_in(b"").is_err());
        assert!(offsets_in(&blob(&[0, 31 << 24, 0], b"\0")).is_err());
        let missing = offsets_in(&blob(&[], b"\0")).unwrap_err();
        assert!(missing.contains("task_struct.real_cred"), "{missing}");
    }
}
