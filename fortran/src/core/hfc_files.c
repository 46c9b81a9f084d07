/* What a program must know about a path before it writes there (hfc_files.f90): its kind,
 * whether two paths name the same file (device and inode: a link or another spelling of an
 * input counts), and whether a new file can be created in a folder (tried, then removed:
 * permissions, read-only mounts and root's exceptions are all the kernel's to decide). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 0: nothing there, 1: a regular file, 2: a folder, 3: something else. */
int hfc_path_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (S_ISREG(st.st_mode)) return 1;
    if (S_ISDIR(st.st_mode)) return 2;
    return 3;
}

/* 1 when both paths exist and are the same file, else 0. */
int hfc_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* 1 when path exists and this process may not write it (permissions, a read-only mount). */
int hfc_not_writable(const char *path)
{
    return access(path, F_OK) == 0 && access(path, W_OK) != 0;
}

/* 0 when a file can be created in folder (a probe is made and removed); else errno, with
 * its text in message (len bytes, NUL-terminated). */
int hfc_probe_folder(const char *folder, char *message, int len)
{
    size_t n = strlen(folder) + 32;
    char *name = malloc(n);
    int fd, err = 0;
    if (name == NULL) return ENOMEM;
    snprintf(name, n, "%s/.hfc-probe-XXXXXX", folder);
    fd = mkstemp(name);
    if (fd < 0) {
        err = errno;
    } else {
        close(fd);
        unlink(name);
    }
    free(name);
    if (err != 0 && len > 0) {
        strncpy(message, strerror(err), (size_t)len - 1);
        message[len - 1] = '\0';
    }
    return err;
}
