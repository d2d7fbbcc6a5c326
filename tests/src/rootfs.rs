//! Root filesystems for containers without an image: busybox and its applets, plus small static
//! C helpers built with gcc (a syscall by number, two phases, 32-bit programs).

use std::path::{Path, PathBuf};

use crate::{child::Finish, gate::which};

/// A minimal root filesystem: busybox (static) and its applets, and empty mount points.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for sub in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let busybox = which("busybox").expect("busybox is installed (apt-get install busybox-static)");
    std::fs::copy(&busybox, root.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "ls", "mkdir", "true", "cat", "echo", "sleep", "unshare", "hostname", "touch",
        "nsenter",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    root
}

/// Installs `/bin/phase` in `root`: `phase NR1 FILE NR2` makes syscall NR1 (all arguments 0),
/// then checks for FILE every 10 ms (at least once: access and nanosleep are always made),
/// then makes NR2: a command whose two phases a test can tell apart.
pub fn install_phase_helper(root: &Path) {
    install_static_helper(
        root,
        "phase",
        "#include <stdlib.h>\n#include <time.h>\n#include <unistd.h>\n\
         int main(int argc, char **argv) {\n\
           if (argc != 4) return 2;\n\
           syscall(atol(argv[1]), 0, 0, 0, 0, 0, 0);\n\
           struct timespec tick = {0, 10000000};\n\
           do { nanosleep(&tick, 0); } while (access(argv[2], F_OK) != 0);\n\
           syscall(atol(argv[3]), 0, 0, 0, 0, 0, 0);\n\
           return 0;\n}\n",
    );
}

/// Installs `/bin/callnr` in `rootfs`: a static program that makes each syscall whose number
/// it is given (all arguments 0) and prints `NR RESULT ERRNO` for each, so a test can give
/// every container a syscall of its own, and see how a filter answered it.
pub fn install_syscall_helper(rootfs: &Path) {
    install_static_helper(
        rootfs,
        "callnr",
        "#include <errno.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n\
         int main(int argc, char **argv) {\n\
           for (int i = 1; i < argc; i++) {\n\
             long r = syscall(atol(argv[i]), 0, 0, 0, 0, 0, 0);\n\
             printf(\"%s %ld %d\\n\", argv[i], r, r < 0 ? errno : 0);\n\
           }\n\
           return 0;\n}\n",
    );
}

/// Installs `/bin/threads` in `root`: `threads N READY GATE` starts N threads (16 KiB stacks)
/// that wait forever, creates the file READY once all run, waits for the file GATE, and exits
/// 0 (taking its threads with it); 1 when a thread cannot be made. A neighbour with many tasks.
pub fn install_thread_helper(root: &Path) {
    install_static_helper_with(
        root,
        "threads",
        "#include <fcntl.h>\n#include <pthread.h>\n#include <stdio.h>\n#include <stdlib.h>\n\
         #include <unistd.h>\n\
         static void *wait_forever(void *arg) { (void)arg; for (;;) pause(); return 0; }\n\
         int main(int argc, char **argv) {\n\
           if (argc != 4) { fprintf(stderr, \"usage: threads N READY GATE\\n\"); return 2; }\n\
           long n = atol(argv[1]);\n\
           pthread_attr_t attr;\n\
           pthread_attr_init(&attr);\n\
           pthread_attr_setstacksize(&attr, 16384);\n\
           for (long i = 0; i < n; i++) {\n\
             pthread_t t;\n\
             if (pthread_create(&t, &attr, wait_forever, 0) != 0) {\n\
               fprintf(stderr, \"thread %ld of %ld: cannot create\\n\", i, n); return 1; }\n\
           }\n\
           close(open(argv[2], O_CREAT | O_WRONLY, 0644));\n\
           while (access(argv[3], F_OK) != 0) usleep(10000);\n\
           return 0;\n}\n",
        &["-pthread"],
    );
}

/// Compiles C `source` with `gcc -static` (plus `flags`) into `rootfs/bin/name`.
pub fn install_static_helper_with(rootfs: &Path, name: &str, source: &str, flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.c"));
    std::fs::write(&file, source).unwrap();
    let status = std::process::Command::new("gcc")
        .args(["-static", "-O1"])
        .args(flags)
        .arg("-o")
        .arg(rootfs.join("bin").join(name))
        .arg(&file)
        .finish("gcc")
        .status;
    assert!(
        status.success(),
        "gcc -static {flags:?} failed for {name} (are libc6-dev and gcc-multilib installed?)"
    );
}

/// [`install_static_helper_with`] for the native ABI.
pub fn install_static_helper(rootfs: &Path, name: &str, source: &str) {
    install_static_helper_with(rootfs, name, source, &[]);
}
