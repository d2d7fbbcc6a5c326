/* An AArch32 program for the arm64 kernel matrix (tests/tests/aarch32.rs): mkdir and rmdir
 * exist in the 32-bit ARM table (39, 40) and not in arm64's, where 39 and 40 are umount2 and
 * mount. Built static by `cargo xtask vm-test --arch aarch64` with arm-linux-gnueabihf-gcc.
 * It also queries its personality: a call whose argument the recording keeps, read from
 * AArch32's registers, so its profile allows only that value. */
#include <stdio.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/aarch32-dir";
    if (mkdir(dir, 0755) != 0) { perror("mkdir"); return 1; }
    if (rmdir(dir) != 0) { perror("rmdir"); return 1; }
    if (personality(0xffffffff) < 0) { perror("personality"); return 1; }
    printf("ok\n");
    return 0;
}
