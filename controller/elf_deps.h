/* What an ELF executable or shared object asks of the dynamic loader: its
 * interpreter (PT_INTERP), the libraries it needs (DT_NEEDED) and where it
 * says to look for them (DT_RUNPATH, DT_RPATH). The file-system jail
 * (controller/fsjail.h) reads these to put exactly what the loader will
 * open into the guest's empty root.
 *
 * The file is hostile input (the guest's own executable): every offset,
 * size and count is checked against the file's size and a hard limit
 * before it is used, nothing is read beyond what is needed (pread of the
 * headers, the dynamic segment and each string), and a malformed file is
 * an error, never a crash. Only ELF objects of this machine's own class,
 * byte order and architecture are accepted (what its loader would load).
 * Nothing here prints or exits. */
#ifndef SANDTRACE_CONTROLLER_ELF_DEPS_H
#define SANDTRACE_CONTROLLER_ELF_DEPS_H

#include <stddef.h>

#define ST_ELF_MAX_NEEDED 64        /* DT_NEEDED entries in one object */
#define ST_ELF_MAX_PHDRS 256        /* program headers */
#define ST_ELF_MAX_DYN 4096         /* dynamic entries read (the rest are ignored) */
#define ST_ELF_MAX_STR 4096         /* one string, with its NUL */

struct st_elf_deps {
    int type;                       /* ET_EXEC or ET_DYN */
    int dynamic;                    /* 1: it has a PT_DYNAMIC segment */
    const char *interp;             /* PT_INTERP, or NULL (static) */
    const char *needed[ST_ELF_MAX_NEEDED];
    size_t nneeded;
    const char *runpath;            /* DT_RUNPATH, or NULL */
    const char *rpath;              /* DT_RPATH, or NULL */
    /* The strings above point here. */
    char arena[4 * ST_ELF_MAX_STR];
    size_t arena_used;
};

/* Reads `fd` (any file; read with pread, its offset untouched) as an ELF
 * object and fills `out`. Returns 0, or ST_E_ELF when it is not an ELF
 * object of this machine or anything in it is out of bounds or over a
 * limit (a string without its NUL, more than ST_ELF_MAX_NEEDED libraries,
 * strings over the arena), ST_E_IO when it cannot be read. */
int st_elf_deps_read(int fd, struct st_elf_deps *out);

#endif
